"""Reading from the PostgreSQL read replica, only where a caller asks for it.

``DATABASE_REPLICA_URL`` adds a ``replica`` database alias (settings). Reads go there only
inside an explicit ``reading_from_replica()`` scope (a context manager and decorator, kept in a
context variable so threads and tasks never inherit another's scope); everything else, every
write, and every read inside a transaction on the primary, stays on ``default``
(``apps.core.db_router``). Without the variable the scope changes nothing.

A replica lags the primary. ``fresh=True`` (reports: they read "as of" their snapshot time and
must see every row committed before it) first waits until the replica has replayed the
primary's current WAL position, up to ``MLGOV_REPLICA_MAX_WAIT_SECONDS``; a replica still
behind then is skipped and the scope reads the primary. ``fresh=False`` (the dashboard) reads
whatever the replica holds: its counts may be a moment old.
"""

from __future__ import annotations

import contextvars
import logging
import time
from contextlib import ContextDecorator

from django.conf import settings
from django.db import connections

logger = logging.getLogger(__name__)

REPLICA = "replica"
_scope: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "mlgov_read_alias", default=None
)


def configured() -> bool:
    """True when this installation has a replica alias."""
    return REPLICA in connections.databases


def read_alias() -> str | None:
    """The alias reads of the current scope go to, or None outside any scope."""
    return _scope.get()


def caught_up(*, timeout: float | None = None) -> bool:
    """True once the replica has replayed everything the primary had written when this was
    called (or it is no streaming standby at all: a test mirror, a second connection to the
    same server); False when it is still behind after ``timeout`` seconds."""
    replica = connections[REPLICA]
    if replica.vendor != "postgresql" or connections["default"].vendor != "postgresql":
        return True
    if timeout is None:
        timeout = settings.MLGOV_REPLICA_MAX_WAIT_SECONDS
    with replica.cursor() as cursor:
        cursor.execute("SELECT pg_is_in_recovery()")
        if not cursor.fetchone()[0]:
            return True
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn()::text")
        target = cursor.fetchone()[0]
    deadline = time.monotonic() + timeout
    while True:
        with replica.cursor() as cursor:
            cursor.execute(
                "SELECT coalesce(pg_last_wal_replay_lsn() >= %s::pg_lsn, false)", [target]
            )
            if cursor.fetchone()[0]:
                return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)


class reading_from_replica(ContextDecorator):
    """Send this block's reads (outside transactions on the primary) to the replica."""

    def __init__(self, *, fresh: bool = False):
        self.fresh = fresh
        self._tokens: list[contextvars.Token] = []

    def _recreate_cm(self):
        # As a decorator: a scope of its own for each call (threads may run it at once).
        return type(self)(fresh=self.fresh)

    def __enter__(self):
        alias = REPLICA if configured() else None
        if alias and self.fresh:
            try:
                if not caught_up():
                    logger.warning("The read replica is behind; this read uses the primary")
                    alias = None
            except Exception:
                logger.exception("The read replica cannot be reached; this read uses the primary")
                alias = None
        self._tokens.append(_scope.set(alias))
        return self

    def __exit__(self, *exc):
        _scope.reset(self._tokens.pop())
        return False
