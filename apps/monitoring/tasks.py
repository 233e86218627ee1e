"""Background jobs of monitoring."""

from __future__ import annotations

import datetime
import logging

from celery import shared_task

from apps.core import context
from apps.monitoring import services
from apps.monitoring.drift.tasks import run_drift  # noqa: F401 - registers the drift task
from apps.monitoring.ingestion import tasks as ingestion_tasks  # noqa: F401 - registers them
from apps.monitoring.retention_tasks import purge_observations  # noqa: F401 - registers it

logger = logging.getLogger(__name__)


@shared_task(name="monitoring.expire_thresholds")
def expire_thresholds() -> list[int]:
    """Expire active thresholds past their review-by date (daily, see CELERY_BEAT_SCHEDULE).

    Idempotent: an expired threshold is not active any more, so a second run finds nothing.
    """
    with context.bind(request_id=f"task-expire-thresholds-{context.new_request_id()}"):
        expired = services.threshold_expire_due()
    if expired:
        logger.warning(
            "Expired %s threshold(s) past their review-by date: %s", len(expired), expired
        )
    return expired


@shared_task(name="monitoring.sweep_orphan_files")
def sweep_orphan_files() -> list[str]:
    """Daily (beat): delete stored metric files and drift samples that no batch or run refers
    to and that are older than a day (left by a rolled-back transaction or a killed process)."""
    from apps.monitoring.drift.services import drift_files_sweep
    from apps.monitoring.ingestion.services import ingestion_files_sweep

    older_than = datetime.timedelta(days=1)
    with context.bind(request_id=f"task-sweep-files-{context.new_request_id()}"):
        deleted = ingestion_files_sweep(older_than=older_than)
        deleted += drift_files_sweep(older_than=older_than)
    if deleted:
        logger.warning("Deleted %s orphaned stored file(s): %s", len(deleted), deleted)
    return deleted
