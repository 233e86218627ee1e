"""The report job: run on commit, safe to run twice, and (services) a model card PDF generated
by a real Celery worker against PostgreSQL and Redis."""

from __future__ import annotations

import hashlib
import time

import pytest

from apps.reports import services
from apps.reports.choices import ReportStatus
from apps.reports.models import Report
from apps.reports.tasks import generate_report
from mlgov.celery import app
from tests.celery_worker import running_worker
from tests.factories import ModelVersionFactory
from tests.reports.jobs import FAKE_BYTES, fake_generation, media, stored_files  # noqa: F401


@pytest.mark.django_db
def test_the_job_runs_when_the_request_commits(
    auditor, owned_model, django_capture_on_commit_callbacks
):
    with fake_generation(), django_capture_on_commit_callbacks(execute=True):
        report = services.report_request(
            user=auditor, kind="model_card", fmt="markdown", model=owned_model
        )
    report.refresh_from_db()
    assert report.status == ReportStatus.DONE and report.attempts == 1
    assert report.content_type == "text/markdown; charset=utf-8"


@pytest.mark.django_db
def test_a_redelivered_job_stores_one_file(auditor, owned_model):
    report = services.report_request(
        user=auditor, kind="model_card", fmt="pdf", model=owned_model, enqueue=False
    )
    with fake_generation() as fake:
        first = generate_report.apply(args=(report.pk,)).get()
        second = generate_report.apply(args=(report.pk,)).get()
    assert first == second == ReportStatus.DONE
    assert len(fake.calls) == 1 and len(stored_files(report)) == 1


@pytest.mark.django_db
def test_the_job_reports_a_failure_and_stores_nothing(auditor, owned_model):
    report = services.report_request(
        user=auditor, kind="model_card", fmt="pdf", model=owned_model, enqueue=False
    )
    with fake_generation(error=ValueError("bad glyph")):
        assert generate_report.apply(args=(report.pk,)).get() == ReportStatus.FAILED
    assert stored_files(report) == []
    assert "bad glyph" in Report.objects.get(pk=report.pk).error


@pytest.mark.django_db
def test_a_vanished_report_is_nothing_to_do():
    assert generate_report.apply(args=(10**9,)).get() is None


# --- a real worker ------------------------------------------------------------------------------


@pytest.fixture
def publish_to(monkeypatch, settings):
    """Send tasks to a test worker's queue; the worker shares this test's media directory."""
    monkeypatch.setenv("DJANGO_MEDIA_ROOT", str(settings.MEDIA_ROOT))
    previous = app.conf.task_default_queue

    def use(queue: str) -> None:
        app.conf.task_always_eager = False
        app.conf.task_default_queue = queue

    yield use
    app.conf.task_default_queue = previous


def wait_for(report: Report, timeout: float = 120.0) -> Report:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        report.refresh_from_db()
        if report.is_final:
            return report
        time.sleep(0.2)
    raise AssertionError(f"report {report.pk} stuck at {report.status}")


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_worker_generates_a_model_card_pdf(auditor, owned_model, publish_to):
    ModelVersionFactory(model=owned_model, version="1.0.0", stage="production")
    with running_worker() as queue:
        publish_to(queue)
        report = services.report_request(
            user=auditor, kind="model_card", fmt="pdf", model=owned_model
        )
        report = wait_for(report)
    assert report.status == ReportStatus.DONE, report.error
    data = services.report_file_bytes(report=report)
    assert data.startswith(b"%PDF-") and hashlib.sha256(data).hexdigest() == report.sha256
    assert report.filename.startswith("owned-model-model-card-") and report.snapshot_sha256
    assert report.attempts == 1 and report.task_id
    assert FAKE_BYTES not in data
