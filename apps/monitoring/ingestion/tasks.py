"""Celery jobs of ingestion: run a batch, and pull metrics from configured HTTPS sources.

Thin: they take ids and call services. ``ingest_batch`` acknowledges late and is rejected
(so redelivered) when its worker dies; running a batch twice loads its rows once.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from apps.core import context
from apps.monitoring.ingestion import pull, services

logger = logging.getLogger(__name__)

TRANSIENT = (OperationalError, InterfaceError)
MAX_RETRIES = 5


@shared_task(
    name="monitoring.ingest_batch",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=TRANSIENT,
    retry_backoff=True,
    max_retries=MAX_RETRIES,
    time_limit=settings.MLGOV_INGEST_TIME_LIMIT,
    soft_time_limit=max(settings.MLGOV_INGEST_TIME_LIMIT - 30, 1),
)
def ingest_batch(self, batch_id: int) -> str | None:
    """Parse, validate, load and evaluate one ingestion batch; returns its status."""
    with context.bind(request_id=f"task-ingest-{batch_id}-{context.new_request_id()}"):
        try:
            batch = services.ingestion_batch_run(batch_id=batch_id)
        except TRANSIENT as exc:
            if self.request.retries >= MAX_RETRIES:
                services.ingestion_batch_fail(
                    batch_id=batch_id,
                    error=f"The database was unavailable; nothing was loaded ({exc}).",
                )
            raise
    return batch.status if batch is not None else None


@shared_task(name="monitoring.pull_due_sources")
def pull_due_sources() -> list[int]:
    """Every minute (beat): queue a pull for each enabled source whose interval has elapsed."""
    with context.bind(request_id=f"task-pull-due-{context.new_request_id()}"):
        due = services.metric_sources_claim_due(now=timezone.now())
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
