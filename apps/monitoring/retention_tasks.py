"""The retention job (beat, daily): thin, it calls ``apps.monitoring.retention``."""

from __future__ import annotations

import logging

from celery import shared_task

from apps.core import context
from apps.monitoring.retention import observations_purge

logger = logging.getLogger(__name__)


@shared_task(name="monitoring.purge_observations", ignore_result=True)
def purge_observations() -> dict | None:
    """Delete observations older than MLGOV_OBSERVATION_RETENTION_DAYS (nothing when unset)."""
    with context.bind(request_id=f"task-purge-observations-{context.new_request_id()}"):
        result = observations_purge()
    if result is None:
        return None
    logger.info("Retention deleted %s observation(s) before %s", result.deleted, result.cutoff)
    return {"deleted": result.deleted, "cutoff": result.cutoff.isoformat()}
