"""The drift job. Thin: the service does the work and is idempotent, so a redelivered task
(late acknowledgement after a lost worker) or a retry stores the results once."""

from __future__ import annotations

import logging

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import InterfaceError, OperationalError

from apps.core import context
from apps.monitoring.drift import services

logger = logging.getLogger(__name__)


@shared_task(
    name="monitoring.run_drift",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    max_retries=5,
    time_limit=settings.MLGOV_INGEST_TIME_LIMIT + 60,
    soft_time_limit=settings.MLGOV_INGEST_TIME_LIMIT,
)
def run_drift(self, run_id: int) -> str:
    """Compute drift run ``run_id``; returns its final status."""
    with context.bind(request_id=f"task-drift-{run_id}-{self.request.id or 'eager'}"):
        try:
            run = services.drift_run_execute(run_id=run_id, task_id=self.request.id or "")
        except (OperationalError, InterfaceError):
            raise  # transient: retried with backoff
        except SoftTimeLimitExceeded:
            run = services.drift_run_fail(
                run_id=run_id,
                message="The drift computation took longer than the time limit; "
                "use smaller samples.",
            )
        except Exception:
            logger.exception("Drift run %s crashed", run_id)
            services.drift_run_fail(
                run_id=run_id,
                message="The drift computation failed unexpectedly; the error is in the "
                "worker's log.",
            )
            raise
    if run.status == "failed":
        logger.warning("Drift run %s failed: %s", run_id, run.error)
    return run.status
