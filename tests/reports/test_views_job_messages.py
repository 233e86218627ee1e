"""What the page says after asking for a report: what became of it, read after the commit
(no broker: the job ran in the request), never a green "queued" above a red "Failed"."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from apps.reports.choices import ReportStatus
from apps.reports.generators import GenerationError
from apps.reports.models import Report
from tests.reports.jobs import fake_generation, media  # noqa: F401

LIST = reverse("reports:report_list")


@pytest.fixture
def eager(settings):
    from mlgov.celery import app

    settings.CELERY_TASK_ALWAYS_EAGER = True
    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


def _ask(client) -> tuple[Report, list]:
    response = client.post(LIST, {"report": "register:csv"})
    assert response.status_code == 302
    return Report.objects.get(), [
        (m.level_tag, str(m)) for m in get_messages(response.wsgi_request)
    ]


@pytest.mark.django_db(transaction=True)
def test_a_report_that_failed_while_asked_for_is_announced_as_failed_only(client, eager):
    from tests.factories import UserFactory

    client.force_login(UserFactory(roles=["auditor"]))
    with fake_generation(error=GenerationError("The register could not be built.")):
        report, shown = _ask(client)
    assert report.status == ReportStatus.FAILED
    assert [level for level, _ in shown] == ["error"]
    assert shown[0][1].startswith(f"Report {report.pk}")
    assert "failed: The register could not be built." in shown[0][1]


@pytest.mark.django_db(transaction=True)
def test_a_report_done_while_asked_for_is_announced_as_ready(client, eager):
    from tests.factories import UserFactory

    client.force_login(UserFactory(roles=["auditor"]))
    with fake_generation():
        report, shown = _ask(client)
    assert report.status == ReportStatus.DONE
    assert shown == [("success", f"Report {report.pk} (Inventory register as CSV) is ready.")]


@pytest.mark.django_db
def test_a_report_left_for_a_worker_is_announced_as_queued_not_done(client, auditor):
    client.force_login(auditor)
    with fake_generation():
        report, shown = _ask(client)  # in a test transaction nothing commits: still queued
    assert report.status == ReportStatus.QUEUED
    assert [level for level, _ in shown] == ["info"]
    assert "queued" in shown[0][1]
