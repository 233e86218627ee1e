"""The time mlgov stamps on what it records.

Every service, selector and model field that stamps or compares "now" reads :func:`now`
instead of ``django.utils.timezone.now`` directly. In production it is the real time. A
caller that tells a dated story (the demo's seeder, which writes fifteen months of history in
one run) hands its own clock in with :func:`reading`; it holds for the current thread or task
only (a context variable), so requests served meanwhile keep the real time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime

from django.utils import timezone

_source: ContextVar[Callable[[], datetime] | None] = ContextVar("mlgov_clock", default=None)


def now() -> datetime:
    """The current time: the clock handed in with :func:`reading`, else the real time."""
    source = _source.get()
    return source() if source is not None else timezone.now()


@contextmanager
def reading(source: Callable[[], datetime]) -> Iterator[None]:
    """Within the block, :func:`now` (and the stamps of :class:`~apps.core.fields.StampField`)
    reads ``source``."""
    token = _source.set(source)
    try:
        yield
    finally:
        _source.reset(token)
