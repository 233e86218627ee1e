"""A tiny webhook receiver on 127.0.0.1 in a thread, answering a scripted list of statuses."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@contextmanager
def fake_endpoint(statuses: list[int]) -> Iterator[tuple[str, list[dict]]]:
    """Yield (url, received); each POST gets the next status (the last one repeats)."""
    received: list[dict] = []
    script = list(statuses)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("Content-Length", 0))
            received.append({"headers": dict(self.headers), "body": self.rfile.read(length)})
            code = script.pop(0) if len(script) > 1 else script[0]
            self.send_response(code)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", received
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
