"""A worker consuming one queue takes only its kind of work: a real Celery worker started with
``-Q reports`` generates a report requested after an upload, while the upload's ingestion job
waits in the ``ingestion`` queue for a worker of its own (Redis broker, PostgreSQL)."""

from __future__ import annotations

import json
import time

import pytest
import redis

from apps.monitoring.choices import BatchStatus, IngestionSource
from apps.monitoring.ingestion import services as ingestion
from apps.reports import services as reports
from apps.reports.choices import ReportStatus
from apps.reports.models import Report
from mlgov.celery import app
from tests.celery_worker import running_worker
from tests.factories import ModelVersionFactory
from tests.monitoring.factories import MetricFactory

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def broker(monkeypatch, settings):
    """The shared broker with the two queues this test reads emptied before and after; tasks
    leave this process for real workers, which share this test's media directory."""
    monkeypatch.setenv("DJANGO_MEDIA_ROOT", str(settings.MEDIA_ROOT))
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    client.delete("reports", "ingestion")
    assert app.conf.task_default_queue == settings.CELERY_TASK_DEFAULT_QUEUE
    app.conf.task_always_eager = False
    yield client
    client.delete("reports", "ingestion")


def waiting_tasks(client, queue: str) -> list[str]:
    return [json.loads(m)["headers"]["task"] for m in client.lrange(queue, 0, -1)]


def test_a_reports_worker_generates_a_report_while_an_upload_waits_for_ingestion(
    broker, model_owner, auditor, owned_model, admin_user
):
    ModelVersionFactory(model=owned_model, version="1.0.0", stage="production")
    MetricFactory(name="auc", direction="higher_is_better", created_by=admin_user)
    with running_worker(queue="reports"):
        batch, created = ingestion.ingestion_batch_create(
            user=model_owner,
            source=IngestionSource.API,
            data=b"model,version,metric,value,timestamp,segment\n"
            b"owned-model,1.0.0,auc,0.81,2025-01-01T00:00:00Z,\n",
            file_name="m.csv",
        )
        assert created
        report = reports.report_request(
            user=auditor, kind="model_card", fmt="markdown", model=owned_model
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            report.refresh_from_db()
            if report.is_final:
                break
            time.sleep(0.2)
        # Still waiting while the worker runs: nothing consumes the ingestion queue.
        assert waiting_tasks(broker, "ingestion") == ["monitoring.ingest_batch"]
    assert report.status == ReportStatus.DONE, report.error
    assert Report.objects.get(pk=report.pk).attempts == 1
    assert waiting_tasks(broker, "reports") == []
    batch.refresh_from_db()
    assert batch.status == BatchStatus.QUEUED and batch.rows_loaded == 0
