"""Per-request context (request id, client address, acting user) kept in context variables.

Services read it to stamp audit events without every call passing the request down.
"""

from __future__ import annotations

import contextvars
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestContext:
    request_id: str = ""
    client_ip: str = ""


_current: contextvars.ContextVar[RequestContext] = contextvars.ContextVar(
    "mlgov_request_context",
    default=RequestContext(),  # noqa: B039 - frozen dataclass, immutable
)


def current() -> RequestContext:
    return _current.get()


def new_request_id() -> str:
    return uuid.uuid4().hex


@contextmanager
def bind(*, request_id: str = "", client_ip: str = "") -> Iterator[RequestContext]:
    """Bind a request context for the duration of a block (requests, tasks, commands)."""
    ctx = RequestContext(request_id=request_id or new_request_id(), client_ip=client_ip)
    token = _current.set(ctx)
    try:
        yield ctx
    finally:
        _current.reset(token)
