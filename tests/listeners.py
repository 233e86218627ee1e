"""Real HTTP(S) listeners on 127.0.0.1 and a scripted resolver, for the egress tests.

``listener`` runs a tiny ``http.server`` in a thread on a free port and records every request
it receives, so a test can assert that nothing reached it. ``self_signed`` makes a certificate
(with ``cryptography``) that a test trusts through ``MLGOV_EGRESS_CA_FILE``. ``FakeDNS``
answers chosen names with chosen addresses, call by call (to play DNS rebinding), and passes
every other name to the real resolver.
"""

from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


@dataclass
class Received:
    """One request as the listener saw it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    server_name: str | None = None  # the TLS SNI the client sent


@dataclass
class Listener:
    scheme: str
    port: int
    bound: str = "127.0.0.1"
    requests: list[Received] = field(default_factory=list)

    def url(self, path: str = "/", host: str | None = None) -> str:
        host = host or (f"[{self.bound}]" if ":" in self.bound else self.bound)
        return f"{self.scheme}://{host}:{self.port}{path}"

    @property
    def allow_entry(self) -> str:
        """The MLGOV_EGRESS_ALLOW entry that opens exactly this listener."""
        host = f"[{self.bound}]" if ":" in self.bound else self.bound
        return f"{host}:{self.port}"


Respond = Callable[[BaseHTTPRequestHandler, Received], None]


def reply(status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> Respond:
    """A responder answering every request with ``status``, ``body`` and ``headers``."""

    def respond(handler: BaseHTTPRequestHandler, _: Received) -> None:
        handler.send_response(status)
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    return respond


def statuses(*codes: int) -> Respond:
    """Each request gets the next status, with an empty body (the last one repeats)."""
    script = list(codes)

    def respond(handler: BaseHTTPRequestHandler, received: Received) -> None:
        code = script.pop(0) if len(script) > 1 else script[0]
        reply(code)(handler, received)

    return respond


def redirect(location: str, status: int = 302) -> Respond:
    return reply(status, headers={"Location": location})


def drip(*, interval: float, total: int = 1000, headers_too: bool = False) -> Respond:
    """A slow server: one byte every ``interval`` seconds (of the body, or of the headers)."""

    def respond(handler: BaseHTTPRequestHandler, _: Received) -> None:
        head = f"HTTP/1.1 200 OK\r\nContent-Length: {total}\r\n\r\n".encode()
        try:
            if headers_too:
                for i in range(len(head)):
                    handler.wfile.write(head[i : i + 1])
                    handler.wfile.flush()
                    time.sleep(interval)
            else:
                handler.wfile.write(head)
            for _ in range(total):
                handler.wfile.write(b"x")
                handler.wfile.flush()
                time.sleep(interval)
        except OSError:
            pass  # the client gave up, as it should

    return respond


def chunked(size: int) -> Respond:
    """A 200 whose body (``size`` bytes) comes chunked, without a Content-Length."""

    def respond(handler: BaseHTTPRequestHandler, _: Received) -> None:
        handler.send_response(200)
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        sent = 0
        try:
            while sent < size:
                n = min(65536, size - sent)
                handler.wfile.write(f"{n:x}\r\n".encode() + b"y" * n + b"\r\n")
                sent += n
            handler.wfile.write(b"0\r\n\r\n")
        except OSError:
            pass

    return respond


class _IPv6Server(ThreadingHTTPServer):
    address_family = socket.AF_INET6


@contextmanager
def listener(
    respond: Respond | None = None, *, cert: Cert | None = None, bind: str = "127.0.0.1"
) -> Iterator[Listener]:
    """A server on ``bind`` (a free port) until the block ends; HTTPS when ``cert`` is given."""
    respond = respond or reply(200)
    box = Listener(scheme="https" if cert else "http", port=0, bound=bind)
    sni: dict[int, str | None] = {}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _handle(self):
            length = int(self.headers.get("Content-Length") or 0)
            received = Received(
                method=self.command,
                path=self.path,
                headers=dict(self.headers),
                body=self.rfile.read(length) if length else b"",
                server_name=sni.get(id(self.connection)),
            )
            box.requests.append(received)
            respond(self, received)
            self.close_connection = True

        do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = do_PATCH = _handle

        def log_message(self, *args):
            pass

    server = (_IPv6Server if ":" in bind else ThreadingHTTPServer)((bind, 0), Handler)
    if cert is not None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert.cert_file, cert.key_file)

        def remember_sni(sslobj, server_name, _context):
            sni[id(sslobj)] = server_name

        context.sni_callback = remember_sni
        server.socket = context.wrap_socket(server.socket, server_side=True)
    box.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield box
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextmanager
def silent_listener() -> Iterator[Listener]:
    """A TCP port on 127.0.0.1 that accepts connections and never says a word (no HTTP, no
    TLS handshake): only a deadline gets a client out."""
    server = socket.create_server(("127.0.0.1", 0))
    box = Listener(scheme="http", port=server.getsockname()[1])
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept():
        server.settimeout(0.05)
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            held.append(connection)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield box
    finally:
        stop.set()
        thread.join(timeout=5)
        for connection in held:
            connection.close()
        server.close()


@dataclass
class ProxyLog:
    port: int
    connects: list[str] = field(default_factory=list)  # the authority of each CONNECT
    headers: list[str] = field(default_factory=list)  # each CONNECT's head, as sent

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@contextmanager
def connect_proxy(*, refuse: str = "") -> Iterator[ProxyLog]:
    """A forward proxy on 127.0.0.1 that opens HTTP CONNECT tunnels (or answers ``refuse``,
    e.g. "403 Forbidden") and records what it was asked to connect to."""
    server = socket.create_server(("127.0.0.1", 0))
    log = ProxyLog(port=server.getsockname()[1])
    stop = threading.Event()

    def pipe(source, sink):
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                with suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def serve(client):
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = client.recv(4096)
            if not chunk:
                client.close()
                return
            head += chunk
        text = head.decode("latin-1")
        log.headers.append(text)
        authority = text.split(" ", 2)[1]
        log.connects.append(authority)
        if refuse:
            client.sendall(f"HTTP/1.1 {refuse}\r\nContent-Length: 0\r\n\r\n".encode())
            client.close()
            return
        host, _, port = authority.rpartition(":")
        try:
            upstream = socket.create_connection((host.strip("[]"), int(port)), timeout=5)
        except OSError:
            client.sendall(b"HTTP/1.1 502 Bad Gateway\r\n\r\n")
            client.close()
            return
        client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        threading.Thread(target=pipe, args=(upstream, client), daemon=True).start()
        pipe(client, upstream)
        client.close()
        upstream.close()

    def accept():
        server.settimeout(0.05)
        while not stop.is_set():
            try:
                client, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(10)
            threading.Thread(target=serve, args=(client,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield log
    finally:
        stop.set()
        thread.join(timeout=5)
        server.close()


# --- certificates -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Cert:
    cert_file: str
    key_file: str


def self_signed(directory: Path, *names: str) -> Cert:
    """A self-signed certificate (its own CA) for the DNS names and IP addresses in ``names``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    alternatives = []
    for name in names:
        try:
            alternatives.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            alternatives.append(x509.DNSName(name))
    now = datetime.datetime.now(datetime.UTC)
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(alternatives), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_file = directory / f"{names[0]}.crt"
    key_file = directory / f"{names[0]}.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return Cert(cert_file=str(cert_file), key_file=str(key_file))


# --- a scripted resolver ----------------------------------------------------------------------


class FakeDNS:
    """Replaces ``socket.getaddrinfo``: each listed name gets its next answer (a list of
    addresses; the last answer repeats); other names go to the real resolver."""

    def __init__(self, monkeypatch, answers: dict[str, list[list[str]]]):
        self.answers = {name: list(calls) for name, calls in answers.items()}
        self.calls: list[str] = []
        self._real = socket.getaddrinfo
        monkeypatch.setattr(socket, "getaddrinfo", self)

    def __call__(self, host, port, family=0, type=0, proto=0, flags=0):
        name = host.decode() if isinstance(host, bytes) else str(host)
        self.calls.append(name)
        script = self.answers.get(name.rstrip(".").lower())
        if script is None:
            return self._real(host, port, family, type, proto, flags)
        addresses = script.pop(0) if len(script) > 1 else script[0]
        if not addresses:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        result = []
        for text in addresses:
            address = ipaddress.ip_address(text)
            if address.version == 4:
                result.append((socket.AF_INET, socket.SOCK_STREAM, 6, "", (text, int(port))))
            else:
                result.append((socket.AF_INET6, socket.SOCK_STREAM, 6, "", (text, int(port), 0, 0)))
        return result
