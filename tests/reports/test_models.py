"""The Report record is immutable: only the job's status transitions change it, and a
finished report never changes again (in the application and, on PostgreSQL, the database)."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from apps.reports import services
from apps.reports.choices import ReportStatus
from apps.reports.models import Report, ReportImmutableError
from tests.reports.jobs import done_report, media  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued(auditor, owned_model):
    return services.report_request(
        user=auditor, kind="model_card", fmt="pdf", model=owned_model, enqueue=False
    )


def test_it_refuses_to_change_a_done_report(auditor, owned_model):
    report = done_report(auditor, model=owned_model)
    assert report.status == ReportStatus.DONE
    report.sha256 = "0" * 64
    with pytest.raises(ReportImmutableError):
        report.save()
    with pytest.raises(ReportImmutableError, match="done"):
        report.save(_transition=True)
    with pytest.raises(ReportImmutableError):
        Report.objects.filter(pk=report.pk).update(sha256="0" * 64)
    with pytest.raises(ReportImmutableError):
        report.delete()
    with pytest.raises(ReportImmutableError):
        Report.objects.filter(pk=report.pk).delete()
    assert Report.objects.get(pk=report.pk).sha256 != "0" * 64


def test_it_refuses_a_save_outside_the_jobs_transitions(queued):
    queued.filename = "other.pdf"
    with pytest.raises(ReportImmutableError, match="generation job"):
        queued.save()
    queued.status = ReportStatus.DONE  # queued → done skips running
    with pytest.raises(ReportImmutableError, match="cannot go from queued to done"):
        queued.save(_transition=True)


def test_a_failed_report_is_final_too(queued):
    failed = services.report_fail(report_id=queued.pk, error="Broken.")
    assert failed.status == ReportStatus.FAILED
    fresh = Report.objects.get(pk=queued.pk)
    fresh.status = ReportStatus.RUNNING
    with pytest.raises(ReportImmutableError, match="failed"):
        fresh.save(_transition=True)


def test_the_job_moves_a_report_from_queued_to_running(queued):
    queued.status = ReportStatus.RUNNING
    queued.save(_transition=True)
    assert Report.objects.get(pk=queued.pk).status == ReportStatus.RUNNING


@pytest.mark.django_db(transaction=True)
def test_postgresql_itself_refuses_to_change_or_delete_a_done_report(auditor, owned_model):
    if connection.vendor != "postgresql":
        pytest.skip("the trigger exists on PostgreSQL only")
    report = done_report(auditor, model=owned_model)
    for sql in (
        "UPDATE reports_report SET sha256 = 'x' WHERE id = %s",
        "DELETE FROM reports_report WHERE id = %s",
    ):
        with (
            pytest.raises(DatabaseError, match="report"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, [report.pk])
    assert Report.objects.get(pk=report.pk).sha256 == report.sha256
