"""An owner sends a failed or stalled batch, report or drift run again (button and API); the
work happens once, the retry is audited, and anything else is refused with a clear message."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.audit.models import AuditEvent
from apps.jobs import services as jobs
from apps.jobs.models import Job
from apps.monitoring.choices import INGEST_TASK, BatchStatus, DriftRunStatus, IngestionSource
from apps.monitoring.drift import services as drift
from apps.monitoring.ingestion import services as ingestion
from apps.monitoring.models import DriftRun, IngestionBatch, Observation
from apps.reports import services as reports
from apps.reports.choices import ReportStatus
from apps.reports.models import Report
from tests.factories import ModelVersionFactory, api_token_key
from tests.monitoring.drift.factories import csv_upload, samples
from tests.monitoring.factories import MetricFactory
from tests.monitoring.ingestion.conftest import csv_bytes, good_rows
from tests.reports.jobs import fake_generation, media  # noqa: F401 - a fixture

pytestmark = pytest.mark.django_db


@pytest.fixture
def version(owned_model, model_owner, admin_user):
    MetricFactory(name="auc", created_by=admin_user)
    return ModelVersionFactory(model=owned_model, version="1.0.0", created_by=model_owner)


@pytest.fixture
def api():
    def client_for(user):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_key(user)}")
        return client

    return client_for


@pytest.fixture
def unsent(monkeypatch):
    """Jobs are recorded but not sent (as when the broker was down)."""
    monkeypatch.setattr(jobs, "_send_after_commit", lambda job_id: None)


def _batch(user, n=6) -> IngestionBatch:
    batch, _ = ingestion.ingestion_batch_create(
        user=user, source=IngestionSource.API, data=csv_bytes(*good_rows(n)), file_name="m.csv"
    )
    return batch


def _stall(task: str, object_id: int) -> None:
    """The job's worker died: its lease ran out."""
    Job.objects.filter(task=task, object_id=object_id).update(
        state=Job.State.RUNNING,
        runs=1,
        lease_owner="gone-host:1:x",
        lease_expires_at=timezone.now() - datetime.timedelta(seconds=5),
    )


# --- ingestion batches ------------------------------------------------------------------------


def test_a_batch_failed_by_a_lost_worker_is_sent_again_through_the_api_and_loads_once(
    version, model_owner, api, unsent, django_capture_on_commit_callbacks
):
    batch = _batch(model_owner)
    ingestion.ingestion_batch_fail(batch_id=batch.pk, error="mlgov gave up after 3 attempt(s).")
    with django_capture_on_commit_callbacks(execute=True):
        response = api(model_owner).post(f"/api/v1/ingestion/{batch.pk}/retry/")
    assert response.status_code == 202, response.content
    assert response.json()["status"] == BatchStatus.QUEUED
    jobs.jobs_dispatch_due()  # the broker is back: tasks run here
    batch.refresh_from_db()
    assert (batch.status, batch.rows_loaded, batch.error) == (BatchStatus.SUCCEEDED, 6, "")
    assert Observation.objects.filter(batch=batch).count() == 6
    event = AuditEvent.objects.filter(object_type="monitoring.ingestionbatch").order_by("-sequence")
    retried = [e for e in event if e.message == "Sent again by its owner."]
    assert retried and retried[0].actor_id == model_owner.pk
    assert retried[0].changes == {"status": {"before": "failed", "after": "queued"}}


def test_a_loaded_batch_is_not_sent_again(
    version, model_owner, api, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        batch = _batch(model_owner)
    assert IngestionBatch.objects.get(pk=batch.pk).status == BatchStatus.SUCCEEDED
    response = api(model_owner).post(f"/api/v1/ingestion/{batch.pk}/retry/")
    assert response.status_code == 400
    assert "Only a failed or stalled batch can be sent again" in response.json()["detail"]


def test_only_the_sender_or_an_administrator_may_send_a_batch_again(
    version, model_owner, validator, api, unsent
):
    batch = _batch(model_owner)
    assert api(validator).post(f"/api/v1/ingestion/{batch.pk}/retry/").status_code == 403


def test_a_stalled_batch_is_sent_again_from_its_page(
    version, model_owner, client, unsent, django_capture_on_commit_callbacks, monkeypatch
):
    batch = _batch(model_owner)
    _stall(INGEST_TASK, batch.pk)
    IngestionBatch.objects.filter(pk=batch.pk).update(status=BatchStatus.RUNNING)
    client.force_login(model_owner)
    page = client.get(f"/monitoring/ingestion/{batch.pk}/")
    assert b'id="retry-button"' in page.content
    monkeypatch.undo()  # sends work again (in process)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/monitoring/ingestion/{batch.pk}/retry/")
    assert response.status_code == 302
    batch.refresh_from_db()
    assert batch.status == BatchStatus.SUCCEEDED and batch.rows_loaded == 6
    assert b'id="retry-button"' not in client.get(f"/monitoring/ingestion/{batch.pk}/").content


def test_sending_a_file_again_revives_its_stalled_batch_instead_of_handing_it_back_dead(
    version, model_owner, unsent, django_capture_on_commit_callbacks, monkeypatch
):
    batch = _batch(model_owner)
    _stall(INGEST_TASK, batch.pk)
    monkeypatch.undo()
    with django_capture_on_commit_callbacks(execute=True):
        again = _batch(model_owner)
    assert again.pk == batch.pk
    batch.refresh_from_db()
    assert batch.status == BatchStatus.SUCCEEDED and batch.rows_loaded == 6
    assert Job.objects.get(task=INGEST_TASK, object_id=batch.pk).state == Job.State.DONE


# --- reports ----------------------------------------------------------------------------------


def test_a_failed_report_is_asked_for_again_as_a_new_report(
    owned_model, model_owner, api, django_capture_on_commit_callbacks
):
    crash = fake_generation(error=RuntimeError("renderer crashed"))
    with crash, django_capture_on_commit_callbacks(execute=True):
        failed = reports.report_request(
            user=model_owner, kind="model_card", fmt="pdf", model=owned_model
        )
    failed.refresh_from_db()
    assert failed.status == ReportStatus.FAILED
    with fake_generation(), django_capture_on_commit_callbacks(execute=True):
        response = api(model_owner).post(f"/api/v1/reports/{failed.pk}/retry/")
    assert response.status_code == 202, response.content
    fresh = Report.objects.get(pk=response.json()["id"])
    assert fresh.pk != failed.pk and response["Location"].endswith(f"/reports/{fresh.pk}/")
    assert (fresh.kind, fresh.format, fresh.model_id) == ("model_card", "pdf", owned_model.pk)
    assert fresh.status == ReportStatus.DONE
    failed.refresh_from_db()
    assert failed.status == ReportStatus.FAILED  # kept as it was, for the record


def test_a_stalled_report_is_sent_again_from_its_page(
    owned_model, model_owner, client, unsent, django_capture_on_commit_callbacks, monkeypatch
):
    report = reports.report_request(
        user=model_owner, kind="model_card", fmt="pdf", model=owned_model
    )
    _stall("reports.generate_report", report.pk)
    client.force_login(model_owner)
    assert b'id="retry-button"' in client.get(f"/reports/{report.pk}/").content
    monkeypatch.undo()
    with fake_generation(), django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/reports/{report.pk}/retry/")
    assert response.status_code == 302 and response["Location"].endswith(f"/reports/{report.pk}/")
    report.refresh_from_db()
    assert report.status == ReportStatus.DONE
    assert Report.objects.count() == 1


def test_a_report_being_generated_normally_is_not_sent_again(owned_model, model_owner, api, unsent):
    report = reports.report_request(
        user=model_owner, kind="model_card", fmt="pdf", model=owned_model
    )
    response = api(model_owner).post(f"/api/v1/reports/{report.pk}/retry/")
    assert response.status_code == 400
    assert "Only a failed or stalled report" in response.json()["detail"]


# --- drift runs -------------------------------------------------------------------------------


def test_a_failed_drift_run_is_run_again(
    version, model_owner, api, unsent, django_capture_on_commit_callbacks, monkeypatch
):
    ref, cur = samples(300)
    run = drift.drift_run_create(
        user=model_owner, version=version, reference=csv_upload(ref), current=csv_upload(cur)
    )
    drift.drift_run_fail(run_id=run.pk, message="mlgov gave up after 3 attempt(s).")
    monkeypatch.undo()
    with django_capture_on_commit_callbacks(execute=True):
        response = api(model_owner).post(f"/api/v1/drift-runs/{run.pk}/retry/")
    assert response.status_code == 202, response.content
    run.refresh_from_db()
    assert run.status == DriftRunStatus.SUCCEEDED and run.error == ""
    assert run.columns.count() == 2
    again = api(model_owner).post(f"/api/v1/drift-runs/{run.pk}/retry/")
    assert again.status_code == 400 and DriftRun.objects.count() == 1
