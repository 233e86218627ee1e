"""Creating and running batches: partial loads, idempotency, crashes, audit, permissions."""

from __future__ import annotations

import hashlib

import pytest
from django.core.exceptions import PermissionDenied
from django.db import OperationalError

from apps.audit.models import AuditEvent
from apps.monitoring.choices import BatchStage, BatchStatus, IngestionSource
from apps.monitoring.ingestion import loader, services
from apps.monitoring.models import IngestionBatch, Observation
from tests.monitoring.ingestion.conftest import csv_bytes, good_rows, row

pytestmark = pytest.mark.django_db


def test_it_loads_a_file_and_records_the_batch(ingest, model_owner, versions):
    data = csv_bytes(*good_rows(3), row(metric="recall", segment="region=eu"))
    batch, created = ingest(data)
    assert created and batch.status == BatchStatus.SUCCEEDED
    assert batch.stage == BatchStage.DONE and batch.progress == 100
    assert (batch.rows_total, batch.rows_loaded, batch.rows_rejected) == (4, 4, 0)
    assert batch.sha256 == hashlib.sha256(data).hexdigest() and batch.size_bytes == len(data)
    assert batch.file.read() == data and batch.file_format == "csv"
    assert batch.attempts == 1 and batch.started_at and batch.finished_at
    observations = Observation.objects.filter(batch=batch)
    assert observations.count() == 4
    assert set(observations.values_list("version_id", flat=True)) == {versions["own"].pk}
    assert observations.filter(segment="region=eu").get().metric.name == "recall"
    actions = list(
        AuditEvent.objects.filter(object_type="monitoring.ingestionbatch")
        .order_by("sequence")
        .values_list("action", "actor_username")
    )
    assert actions == [("create", model_owner.username), ("transition", "system")]


def test_accept_partial_loads_the_valid_rows_and_records_the_rest(ingest):
    data = csv_bytes(*good_rows(5), row(value="x", timestamp="2025-03-01T00:00:00Z"))
    batch, _ = ingest(data, accept_partial=True)
    assert batch.status == BatchStatus.PARTIAL and batch.error == ""
    assert (batch.rows_total, batch.rows_loaded, batch.rows_rejected) == (6, 5, 1)
    assert batch.row_errors == [
        {"row": 7, "column": "value", "value": "x", "reason": "Not a number."}
    ]
    assert Observation.objects.count() == 5


def test_the_same_file_twice_is_one_batch_and_loads_once(ingest):
    data = csv_bytes(*good_rows(4))
    first, created = ingest(data)
    again, created_again = ingest(data)
    assert created and not created_again and again.pk == first.pk
    assert IngestionBatch.objects.count() == 1 and Observation.objects.count() == 4


def test_the_same_file_for_another_scope_is_a_new_batch_with_duplicates_skipped(
    ingest, owned_model
):
    data = csv_bytes(*good_rows(4))
    first, _ = ingest(data)
    scoped, created = ingest(data, scope_model=owned_model)
    assert created and scoped.pk != first.pk
    assert scoped.status == BatchStatus.SUCCEEDED
    assert (scoped.rows_loaded, scoped.rows_duplicate) == (0, 4)
    assert Observation.objects.count() == 4


def test_a_failed_file_may_be_sent_again(ingest, settings):
    data = csv_bytes(*good_rows(2))
    settings.MLGOV_INGEST_MAX_FUTURE_MINUTES = -(10**8)  # everything is "in the future"
    failed, _ = ingest(data)
    settings.MLGOV_INGEST_MAX_FUTURE_MINUTES = 10
    retried, created = ingest(data)
    assert failed.status == BatchStatus.FAILED and created
    assert retried.status == BatchStatus.SUCCEEDED and Observation.objects.count() == 2


def test_running_the_task_twice_loads_the_rows_once(ingest):
    batch, _ = ingest(csv_bytes(*good_rows(3)))
    again = services.ingestion_batch_run(batch_id=batch.pk)
    assert again.status == BatchStatus.SUCCEEDED and again.attempts == 1
    assert Observation.objects.count() == 3


def test_a_crash_before_the_load_commits_leaves_nothing_and_a_rerun_loads_once(ingest, monkeypatch):
    batch, _ = ingest(csv_bytes(*good_rows(3)), run=False)
    real = loader.StreamLoad.insert

    def load_then_lose_the_database(self):
        real(self)
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(loader.StreamLoad, "insert", load_then_lose_the_database)
    with pytest.raises(OperationalError):
        services.ingestion_batch_run(batch_id=batch.pk)
    batch.refresh_from_db()
    assert batch.status == BatchStatus.RUNNING and Observation.objects.count() == 0

    monkeypatch.setattr(loader.StreamLoad, "insert", real)
    done = services.ingestion_batch_run(batch_id=batch.pk)
    assert done.status == BatchStatus.SUCCEEDED and done.attempts == 2
    assert Observation.objects.count() == 3


def test_a_batch_loaded_but_not_evaluated_is_evaluated_on_redelivery(ingest, monkeypatch):
    batch, _ = ingest(csv_bytes(*good_rows(2)), run=False)
    from apps.monitoring.evaluation import services as evaluation

    calls = []

    def lost(*, batch, series=None):
        calls.append(batch.pk)
        if len(calls) == 1:
            raise OperationalError("connection lost")

    monkeypatch.setattr(evaluation, "evaluate_batch", lost)
    with pytest.raises(OperationalError):
        services.ingestion_batch_run(batch_id=batch.pk)
    batch.refresh_from_db()
    assert batch.status == BatchStatus.SUCCEEDED and batch.stage == BatchStage.EVALUATING
    services.ingestion_batch_run(batch_id=batch.pk)
    batch.refresh_from_db()
    assert batch.stage == BatchStage.DONE and calls == [batch.pk, batch.pk]
    assert Observation.objects.count() == 2


def test_an_unexpected_error_fails_the_batch_with_a_message(ingest, monkeypatch):
    batch, _ = ingest(csv_bytes(*good_rows(2)), run=False)

    def broken(self, frame, rows):
        raise ValueError("disk on fire")

    monkeypatch.setattr(loader.StreamLoad, "add", broken)
    services.ingestion_batch_run(batch_id=batch.pk)
    batch.refresh_from_db()
    assert batch.status == BatchStatus.FAILED
    assert "ValueError: disk on fire" in batch.error and Observation.objects.count() == 0


def test_rows_of_models_the_sender_may_not_push_to_are_row_errors(ingest, validator, auditor):
    data = csv_bytes(row(model="owned-model"), row(model="foreign-model"))
    mine, _ = ingest(data)
    assert mine.status == BatchStatus.FAILED
    assert [(e["row"], e["column"]) for e in mine.row_errors] == [(3, "model")]
    theirs, _ = ingest(data, user=validator)
    assert theirs.status == BatchStatus.SUCCEEDED and theirs.rows_loaded == 2
    with pytest.raises(PermissionDenied):
        ingest(data, user=auditor)


def test_a_scoped_batch_needs_permission_on_its_model(ingest, foreign_model):
    with pytest.raises(PermissionDenied):
        ingest(csv_bytes(row(model="foreign-model")), scope_model=foreign_model)


def test_stages_are_committed_separately_for_the_progress_display(ingest, monkeypatch):
    batch, _ = ingest(csv_bytes(*good_rows(2)), run=False)
    seen = []
    real = services._set_stage

    def spy(batch_id, stage, progress):
        real(batch_id, stage, progress)
        seen.append(IngestionBatch.objects.values_list("stage", "progress").get(pk=batch_id))

    monkeypatch.setattr(services, "_set_stage", spy)
    services.ingestion_batch_run(batch_id=batch.pk)
    assert seen == [("validating", 10)]


def test_api_rows_hash_the_same_whatever_the_key_order(ingest):
    from apps.monitoring.ingestion.parse import json_rows_bytes

    rows = [
        {
            "model": "owned-model",
            "version": "1.0.0",
            "metric": "auc",
            "value": 0.8,
            "timestamp": "2025-01-01T00:00:00Z",
        }
    ]
    batch, _ = ingest(json_rows_bytes(rows), "rows.json", source=IngestionSource.API)
    assert batch.status == BatchStatus.SUCCEEDED and batch.file_format == "json"
    same, created = ingest(json_rows_bytes([dict(reversed(rows[0].items()))]), "rows.json")
    assert not created and same.pk == batch.pk


def test_the_loader_skips_rows_already_recorded(ingest):
    ingest(csv_bytes(*good_rows(3)))
    overlapping, _ = ingest(csv_bytes(*good_rows(5)))
    assert (overlapping.rows_loaded, overlapping.rows_duplicate) == (2, 3)
    assert Observation.objects.count() == 5
