"""Publishing to the broker with a short, bounded wait, and a breaker for outages.

A web request that starts a job must never hang or fail because the broker is down: the job
is already committed in the outbox, so publishing is only an attempt. One connection attempt
with a short timeout; when it fails, further attempts from this process are skipped for a
few seconds (the dispatcher sends what was skipped once the broker is back).
"""

from __future__ import annotations

import threading
import time

from django.conf import settings

_lock = threading.Lock()
_down_until = 0.0


def is_down() -> bool:
    """True while a recent publish from this process failed (the breaker is open)."""
    return time.monotonic() < _down_until


def mark_down() -> None:
    global _down_until
    with _lock:
        _down_until = time.monotonic() + settings.MLGOV_BROKER_RETRY_SECONDS


def mark_up() -> None:
    global _down_until
    with _lock:
        _down_until = 0.0


def publish(task, args: tuple, *, task_id: str, countdown: float | None = None) -> None:
    """Send one message for ``task``; raises when the broker cannot be reached in time."""
    from mlgov.celery import app

    bound = settings.MLGOV_BROKER_CONNECT_TIMEOUT
    # Short socket timeouts for this connection only: a broker that accepts the connection
    # but does not answer (hung, overloaded) must not hold the request either.
    options = {"socket_connect_timeout": bound, "socket_timeout": bound}
    with app.connection_for_write(transport_options=options) as connection:
        connection.ensure_connection(
            max_retries=0,  # one attempt: kombu counts retries after the first
            interval_start=0,
            interval_step=0.2,
            interval_max=0.2,
            timeout=bound,
        )
        # No result is stored: the job's record holds its outcome. (Asking for one would
        # also subscribe to the result backend here, a second Redis round trip that an
        # outage turns into a wait.)
        task.apply_async(
            args,
            task_id=task_id,
            countdown=countdown or None,
            connection=connection,
            retry=False,
            ignore_result=True,
        )
    mark_up()
