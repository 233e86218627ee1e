"""The drift job. Thin: the service does the work under the job outbox's lease (apps/jobs)
and is idempotent, so a job sent again after its worker died, or a message delivered twice,
stores the results once."""

from __future__ import annotations

import logging

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings

from apps.core import context
from apps.jobs.registry import register
from apps.jobs.services import TRANSIENT, job_run
from apps.monitoring.drift import services
from apps.monitoring.models import DriftRun

logger = logging.getLogger(__name__)


@shared_task(
    name=services.DRIFT_TASK,
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    time_limit=settings.MLGOV_INGEST_TIME_LIMIT + 60,
    soft_time_limit=settings.MLGOV_INGEST_TIME_LIMIT,
)
def run_drift(self, run_id: int) -> str | None:
    """Compute drift run ``run_id``; returns its final status."""
    task_id = self.request.id or ""
    with context.bind(request_id=f"task-drift-{run_id}-{task_id or 'eager'}"):
        run = job_run(
            self,
            run_id,
            lambda: _execute(run_id, task_id),
            on_skip=lambda: DriftRun.objects.filter(pk=run_id).first(),
        )
    if run is not None and run.status == "failed":
        logger.warning("Drift run %s failed: %s", run_id, run.error)
    return run.status if run is not None else None


def _execute(run_id: int, task_id: str):
    try:
        return services.drift_run_execute(run_id=run_id, task_id=task_id)
    except TRANSIENT:
        raise  # retried with backoff by the job's lease
    except SoftTimeLimitExceeded:
        return services.drift_run_fail(
            run_id=run_id,
            message="The drift computation took longer than the time limit; use smaller samples.",
        )
    except Exception:
        logger.exception("Drift run %s crashed", run_id)
        services.drift_run_fail(
            run_id=run_id,
            message="The drift computation failed unexpectedly; the error is in the worker's log.",
        )
        raise


register(
    services.DRIFT_TASK,
    give_up=lambda run_id, error: services.drift_run_fail(run_id=run_id, message=error),
)
