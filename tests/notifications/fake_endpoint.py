"""A tiny webhook receiver on 127.0.0.1 in a thread, answering a scripted list of statuses.

The receiver is on loopback, which the egress guard refuses by default; while the block runs,
the operator's allow-list (``MLGOV_EGRESS_ALLOW``) names exactly this receiver's address and
port, as an operator would for an internal endpoint. Nothing else is opened.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.test import override_settings

from tests.listeners import listener, statuses


@contextmanager
def fake_endpoint(codes: list[int]) -> Iterator[tuple[str, list[dict]]]:
    """Yield (url, received); each POST gets the next status (the last one repeats)."""
    received: list[dict] = []

    def record(handler, request):
        received.append({"headers": request.headers, "body": request.body})
        respond(handler, request)

    respond = statuses(*codes)
    with listener(record) as server, override_settings(MLGOV_EGRESS_ALLOW=[server.allow_entry]):
        yield server.url("/hook"), received
