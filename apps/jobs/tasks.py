"""The dispatcher's beat. Thin: it calls the service."""

from __future__ import annotations

import logging

from celery import shared_task

from apps.core import context
from apps.jobs import services

logger = logging.getLogger(__name__)


@shared_task(name="jobs.tick", ignore_result=True)
def tick() -> dict[str, int]:
    """Re-queue jobs whose worker died and send every job not sent yet (see services)."""
    with context.bind(request_id=f"task-jobs-tick-{context.new_request_id()}"):
        done = services.jobs_tick()
    if done["reaped"] or done["sent"]:
        logger.warning(
            "Jobs: %s re-queued or given up, %s sent", len(done["reaped"]), len(done["sent"])
        )
    return {name: len(ids) for name, ids in done.items()}
