"""Building observation series for evaluation tests: a batch, then rows through the loader."""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools

import pandas as pd

from apps.monitoring.choices import BatchStatus, IngestionSource
from apps.monitoring.evaluation.services import evaluate_batch
from apps.monitoring.ingestion.loader import load_observations
from apps.monitoring.models import IngestionBatch

T0 = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
_counter = itertools.count()


def new_batch(created_by) -> IngestionBatch:
    digest = hashlib.sha256(f"batch-{next(_counter)}".encode()).hexdigest()
    return IngestionBatch.objects.create(
        source=IngestionSource.DEMO,
        file_format="csv",
        sha256=digest,
        status=BatchStatus.SUCCEEDED,
        created_by=created_by,
    )


def day(n: float) -> dt.datetime:
    return T0 + dt.timedelta(days=n)


def load(batch, version, metric, points, segment: str = ""):
    """Load ``points`` [(datetime, value), ...] of one series into ``batch``."""
    frame = pd.DataFrame(
        {
            "version_id": pd.Series([version.pk] * len(points), dtype="int64"),
            "metric_id": pd.Series([metric.pk] * len(points), dtype="int64"),
            "segment": pd.Series([segment] * len(points), dtype="object"),
            "timestamp": pd.to_datetime([t for t, _ in points], utc=True),
            "value": pd.Series([v for _, v in points], dtype="float64"),
        }
    )
    return load_observations(batch=batch, frame=frame)


def ingest(version, metric, points, *, segment: str = "", created_by=None, evaluate=True):
    """A new batch with one series, evaluated like the ingestion job does."""
    batch = new_batch(created_by or version.model.owner)
    load(batch, version, metric, points, segment)
    summary = evaluate_batch(batch=batch) if evaluate else None
    return batch, summary
