"""Evaluation of active thresholds after an ingestion batch."""

from __future__ import annotations

from apps.monitoring.models import IngestionBatch


def evaluate_batch(*, batch: IngestionBatch) -> None:
    """Evaluate the active thresholds of every (model, metric, segment) the batch touched.

    Idempotent: evaluating the same batch twice changes nothing the second time.
    """
    return None
