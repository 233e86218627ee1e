"""Helpers of the Monitoring tab and metrics API tests: observations written straight into
the store under one batch (loading is the ingestion tests' subject, not these), with the
series table and rollups rebuilt from the store as the loader would have kept them."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from django.utils import timezone

from apps.monitoring.choices import BatchStatus, EvaluationState, IngestionSource
from apps.monitoring.ingestion.loader import rebuild_summaries
from apps.monitoring.models import Breach, IngestionBatch, Observation, ThresholdState


def batch_for(model, user, *, name: str = "test") -> IngestionBatch:
    return IngestionBatch.objects.create(
        source=IngestionSource.API,
        scope_model=model,
        file_format="csv",
        file_name=f"{name}.csv",
        sha256=hashlib.sha256(f"{model.pk}:{name}".encode()).hexdigest(),
        status=BatchStatus.SUCCEEDED,
        rows_loaded=0,
        created_by=user,
    )


def observe(
    version,
    metric,
    values,
    *,
    batch,
    end: datetime | None = None,
    step: timedelta = timedelta(days=1),
    segment: str = "",
) -> list[Observation]:
    """One observation per value, ``step`` apart, the last at ``end`` (default: an hour ago)."""
    end = end or timezone.now() - timedelta(hours=1)
    n = len(values)
    rows = [
        Observation(
            version=version,
            metric=metric,
            segment=segment,
            timestamp=end - step * (n - 1 - i),
            value=float(v),
            batch=batch,
        )
        for i, v in enumerate(values)
    ]
    created = Observation.objects.bulk_create(rows, batch_size=5000)
    rebuild_summaries([version.pk])
    return created


def breach(threshold, version, *, value: float, at: datetime, state=EvaluationState.CRITICAL):
    now = timezone.now()
    ThresholdState.objects.update_or_create(
        threshold=threshold,
        version=version,
        defaults={
            "state": state,
            "value": value,
            "sample_count": 1,
            "since": at,
            "evaluated_at": now,
        },
    )
    return Breach.objects.create(
        threshold=threshold,
        version=version,
        state=state,
        value=value,
        warning_bound=threshold.warning_bound,
        critical_bound=threshold.critical_bound,
        observed_at=at,
        detected_at=now,
    )
