"""Per-request context (request id, client address, acting user) kept in context variables.

Services read it to stamp audit events without every call passing the request down.
"""

from __future__ import annotations

import contextvars
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class RequestContext:
    request_id: str = ""
    client_ip: str = ""
    # Who acts when no user does (``actor=None``): a credential that is not a person, e.g.
    # "scim:Entra ID" for the identity provider's provisioning calls. Empty: the system.
    actor_name: str = ""


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


@contextmanager
def acting_as(actor_name: str) -> Iterator[RequestContext]:
    """Name the non-user actor of the writes in a block (audit events with ``actor=None``
    record this name instead of "system"); request id and address are kept."""
    ctx = replace(current(), actor_name=actor_name)
    token = _current.set(ctx)
    try:
        yield ctx
    finally:
        _current.reset(token)
