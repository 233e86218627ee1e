"""Celery jobs of ingestion: run a batch, and pull metrics from configured HTTPS sources.

Thin: they take ids and call services. ``ingest_batch`` runs under the job outbox's lease
(apps/jobs): a batch whose worker died is sent again by the reaper, a message delivered twice
runs once, and running a batch twice loads its rows once.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings

from apps.core import clock, context
from apps.jobs.registry import register
from apps.jobs.services import TRANSIENT, job_run
from apps.monitoring.ingestion import pull, services
from apps.monitoring.models import IngestionBatch

logger = logging.getLogger(__name__)

MAX_RETRIES = 5


@shared_task(
    name=services.INGEST_TASK,
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    time_limit=settings.MLGOV_INGEST_TIME_LIMIT,
    soft_time_limit=max(settings.MLGOV_INGEST_TIME_LIMIT - 30, 1),
)
def ingest_batch(self, batch_id: int) -> str | None:
    """Parse, validate, load and evaluate one ingestion batch; returns its status."""
    with context.bind(request_id=f"task-ingest-{batch_id}-{context.new_request_id()}"):
        batch = job_run(
            self,
            batch_id,
            lambda: services.ingestion_batch_run(batch_id=batch_id),
            on_skip=lambda: IngestionBatch.objects.filter(pk=batch_id).first(),
        )
    return batch.status if batch is not None else None


register(
    services.INGEST_TASK,
    give_up=lambda batch_id, error: services.ingestion_batch_fail(
        batch_id=batch_id, error=f"{error} Nothing was loaded."
    ),
)


@shared_task(name="monitoring.pull_due_sources")
def pull_due_sources() -> list[int]:
    """Every minute (beat): queue a pull for each enabled source whose interval has elapsed."""
    with context.bind(request_id=f"task-pull-due-{context.new_request_id()}"):
        due = services.metric_sources_claim_due(now=clock.now())
    for source_id in due:
        pull_source.delay(source_id)
    return due


@shared_task(
    name="monitoring.pull_source",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=TRANSIENT,
    retry_backoff=True,
    max_retries=MAX_RETRIES,
    time_limit=settings.MLGOV_PULL_TIMEOUT_SECONDS * 4,
    soft_time_limit=settings.MLGOV_PULL_TIMEOUT_SECONDS * 3,
)
def pull_source(self, source_id: int) -> int | None:
    """Fetch one source and queue its content as a batch; returns the batch id."""
    with context.bind(request_id=f"task-pull-{source_id}-{context.new_request_id()}"):
        batch = pull.pull_source(source_id=source_id)
    return batch.pk if batch is not None else None
