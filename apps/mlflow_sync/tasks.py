"""Celery jobs of the MLflow registry sync. Thin: they take ids and call services.

``run_sync`` runs under the job outbox's lease (apps/jobs): a sync whose worker died is sent
again by the reaper, a message delivered twice runs once, and a sync run twice writes once
(every write is matched by its stored link). ``sync_due_connections`` (beat, every minute)
queues the connections whose schedule has come round.
"""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from apps.core import clock, context
from apps.jobs.registry import register
from apps.jobs.services import RetryLater, job_run
from apps.mlflow_sync import services
from apps.mlflow_sync.client import MlflowError
from apps.mlflow_sync.models import SyncRun


def _body(run_id: int):
    try:
        return services.sync_run_execute(run_id=run_id)
    except MlflowError as exc:  # retryable: MLflow unreachable or answering 5xx
        raise RetryLater(settings.MLGOV_JOB_RETRY_SECONDS, exc.message) from exc


@shared_task(
    name=services.SYNC_TASK,
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    time_limit=settings.MLGOV_MLFLOW_SYNC_TIME_LIMIT,
    soft_time_limit=max(settings.MLGOV_MLFLOW_SYNC_TIME_LIMIT - 30, 1),
)
def run_sync(self, run_id: int) -> str | None:
    """Sync one connection's registry; returns the run's status."""
    with context.bind(request_id=f"task-mlflow-sync-{run_id}-{context.new_request_id()}"):
        run = job_run(
            self,
            run_id,
            lambda: _body(run_id),
            on_skip=lambda: SyncRun.objects.filter(pk=run_id).first(),
        )
    return run.status if run is not None else None


register(
    services.SYNC_TASK,
    give_up=lambda run_id, error: services.sync_run_fail(run_id=run_id, error=error),
)


@shared_task(name="mlflow_sync.sync_due_connections")
def sync_due_connections() -> list[int]:
    """Every minute (beat): queue a sync of each connection whose schedule has come round."""
    with context.bind(request_id=f"task-mlflow-due-{context.new_request_id()}"):
        return services.connections_due(now=clock.now())
