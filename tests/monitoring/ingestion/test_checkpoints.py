"""The named checkpoints of a run (``services.run_checkpoint``), the seam at which the fault
tests' workers hold a batch (tests/monitoring/ingestion/paused.py): once claimed, once
validating, and with the rows loaded but the load's transaction not yet committed."""

from __future__ import annotations

import pytest

from apps.monitoring.choices import BatchStatus
from apps.monitoring.ingestion import services
from apps.monitoring.models import IngestionBatch, Observation
from tests.monitoring.ingestion.conftest import csv_bytes, good_rows

pytestmark = pytest.mark.django_db


def test_a_run_passes_its_checkpoints_in_order_the_last_one_before_its_commit(ingest, monkeypatch):
    seen = []

    def note(point: str) -> None:
        [batch] = IngestionBatch.objects.all()
        seen.append((point, batch.status, Observation.objects.count()))

    monkeypatch.setattr(services, "run_checkpoint", note)
    batch, created = ingest(csv_bytes(*good_rows(3)))

    assert created and batch.status == BatchStatus.SUCCEEDED
    assert seen == [
        ("claimed", BatchStatus.RUNNING, 0),
        ("validating", BatchStatus.RUNNING, 0),
        ("committing", BatchStatus.RUNNING, 3),
    ]
