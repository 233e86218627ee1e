"""The data migration that adopts what an earlier release left queued: unfinished batches,
reports, drift runs and webhook deliveries get an outbox row and are then sent; finished ones
are left alone, and running it twice adds nothing."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps

from apps.jobs import services as jobs
from apps.jobs.models import Job
from apps.monitoring.choices import BatchStatus, IngestionSource
from apps.monitoring.ingestion import services as ingestion
from apps.notifications.models import WebhookDelivery, WebhookEndpoint
from apps.reports import services as reports
from tests.factories import ModelVersionFactory
from tests.monitoring.factories import MetricFactory
from tests.monitoring.ingestion.conftest import csv_bytes, good_rows
from tests.reports.jobs import media  # noqa: F401 - a fixture

pytestmark = pytest.mark.django_db
migration = importlib.import_module("apps.jobs.migrations.0002_adopt_unfinished")


def test_unfinished_work_of_an_earlier_release_is_adopted_and_then_done(
    owned_model, model_owner, admin_user, monkeypatch
):
    MetricFactory(name="auc", created_by=admin_user)
    ModelVersionFactory(model=owned_model, version="1.0.0", created_by=model_owner)
    monkeypatch.setattr(jobs, "_send_after_commit", lambda job_id: None)
    queued, _ = ingestion.ingestion_batch_create(
        user=model_owner, source=IngestionSource.API, data=csv_bytes(*good_rows(5)), file_name="a"
    )
    report = reports.report_request(
        user=model_owner, kind="model_card", fmt="pdf", model=owned_model, enqueue=False
    )
    endpoint = WebhookEndpoint.objects.create(
        name="bus", url="https://hooks.example.com/x", secret="s", created_by=admin_user
    )
    retrying = WebhookDelivery.objects.create(endpoint=endpoint, event="review.due")
    WebhookDelivery.objects.filter(pk=retrying.pk).update(status="retrying")
    delivered = WebhookDelivery.objects.create(endpoint=endpoint, event="review.due")
    WebhookDelivery.objects.filter(pk=delivered.pk).update(status="delivered")
    Job.objects.all().delete()  # as an earlier release left them: no outbox rows

    migration.adopt(apps, None)
    migration.adopt(apps, None)

    adopted = set(Job.objects.values_list("task", "object_id"))
    assert adopted == {
        ("monitoring.ingest_batch", queued.pk),
        ("reports.generate_report", report.pk),
        ("notifications.deliver_webhook", retrying.pk),
    }
    assert set(Job.objects.values_list("state", flat=True)) == {Job.State.PENDING}
    monkeypatch.undo()
    monkeypatch.setattr("apps.notifications.webhooks.post", lambda *a, **k: _delivered())
    jobs.jobs_dispatch_due()
    queued.refresh_from_db()
    assert queued.status == BatchStatus.SUCCEEDED and queued.rows_loaded == 5
    report.refresh_from_db()
    retrying.refresh_from_db()
    assert (report.status, retrying.status) == ("done", "delivered")
    assert set(Job.objects.values_list("state", flat=True)) == {Job.State.DONE}


def _delivered():
    from apps.notifications.webhooks import Outcome

    return Outcome(status=200)
