"""A worker that starts sends what the outbox holds at once, not at the next beat."""

from __future__ import annotations

import logging

from celery.signals import worker_ready

logger = logging.getLogger(__name__)


@worker_ready.connect(dispatch_uid="mlgov-jobs-dispatch-on-start")
def dispatch_on_start(sender=None, **kwargs) -> None:
    # Sent as a message so a pool process runs it (no database work in the parent).
    try:
        sender.app.send_task("jobs.tick")
    except Exception:
        logger.exception("Could not ask for a dispatch at start-up; the beat will do it")
