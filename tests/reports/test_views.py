"""Browser pages: the Reports page and its request form, a report's page with live progress,
downloads, a model's Reports tab, the model card in the browser; query counts constant."""

from __future__ import annotations

import hashlib

import pytest
from django.urls import reverse

from apps.reports import services
from apps.reports.choices import ReportStatus
from apps.reports.models import Report
from tests.factories import RegisteredModelFactory
from tests.reports.jobs import FAKE_BYTES, done_report, fake_generation, media, stored_files  # noqa: F401

pytestmark = pytest.mark.django_db
LIST = reverse("reports:report_list")


@pytest.fixture
def auditor_client(client, auditor):
    client.force_login(auditor)
    return client


def tab_url(model) -> str:
    return reverse("reports:model_reports", args=[model.slug])


def test_the_reports_page_asks_for_a_register_with_filters(
    auditor_client, django_capture_on_commit_callbacks
):
    page = auditor_client.get(LIST).content.decode()
    assert 'value="register:xlsx"' in page and 'value="evidence_pack:zip"' in page
    with fake_generation(), django_capture_on_commit_callbacks(execute=True):
        response = auditor_client.post(
            LIST, {"report": "register:xlsx", "risk_tier": ["1"], "q": "credit"}
        )
    report = Report.objects.get()
    assert response.status_code == 302 and response["Location"] == report.get_absolute_url()
    assert (report.kind, report.format, report.model) == ("register", "xlsx", None)
    assert report.scope == {"filters": {"q": "credit", "risk_tier": ["1"]}}
    assert report.status == ReportStatus.DONE


def test_a_refused_request_shows_the_reason_on_the_form(auditor_client):
    response = auditor_client.post(LIST, {"report": "model_card:pdf"})
    assert response.status_code == 400
    assert "is about one model" in response.content.decode()
    assert not Report.objects.exists()


def test_the_report_page_polls_until_the_report_is_done(auditor_client, auditor, owned_model):
    report = services.report_request(
        user=auditor, kind="model_card", fmt="pdf", model=owned_model, enqueue=False
    )
    progress = reverse("reports:report_progress", args=[report.pk])
    partial = auditor_client.get(progress).content.decode()
    assert 'hx-trigger="every 1s"' in partial and "Waiting for a worker" in partial
    assert "<html" not in partial
    with fake_generation():
        services.report_generate(report_id=report.pk)
    done = auditor_client.get(progress).content.decode()
    assert "hx-trigger" not in done and 'id="report-download"' in done
    assert hashlib.sha256(FAKE_BYTES).hexdigest() in done


def test_the_download_returns_the_stored_bytes_as_an_attachment(
    auditor_client, auditor, owned_model
):
    report = done_report(auditor, model=owned_model)
    response = auditor_client.get(report.get_download_url())
    assert response.status_code == 200 and response.content == FAKE_BYTES
    assert response["Content-Type"] == "application/pdf"
    assert report.filename in response["Content-Disposition"]
    assert response["Content-Disposition"].startswith("attachment")
    (path,) = stored_files(report)
    path.write_bytes(b"changed")
    refused = auditor_client.get(report.get_download_url())
    assert refused.status_code == 500 and "no longer matches" in refused.content.decode()


def test_the_list_polls_while_a_report_runs(auditor_client, auditor, owned_model):
    services.report_request(
        user=auditor, kind="model_card", fmt="pdf", model=owned_model, enqueue=False
    )
    page = auditor_client.get(LIST).content.decode()
    assert 'hx-select="#report-table"' in page and 'hx-trigger="every 2s"' in page
    partial = auditor_client.get(LIST, HTTP_HX_REQUEST="true").content.decode()
    assert 'id="report-table"' in partial and "<html" not in partial


def test_the_model_tab_requests_a_card_and_lists_the_models_reports(
    client,
    model_owner,
    owned_model,
    foreign_model,
    other_model_owner,
    django_capture_on_commit_callbacks,
):
    done_report(other_model_owner, model=foreign_model)
    client.force_login(model_owner)
    tab = client.get(tab_url(owned_model)).content.decode()
    assert 'value="model_card:pdf"' in tab and 'value="lineage:json"' in tab
    assert "evidence_pack" not in tab  # audit readers only
    with fake_generation(), django_capture_on_commit_callbacks(execute=True):
        response = client.post(tab_url(owned_model), {"report": "model_card:pdf", "as_of": ""})
    report = Report.objects.get(requested_by=model_owner)
    assert response["Location"] == report.get_absolute_url() and report.model == owned_model
    tab = client.get(tab_url(owned_model)).content.decode()
    assert f'id="report-{report.pk}"' in tab and report.filename in tab
    assert client.get(tab_url(foreign_model)).status_code == 404


def test_the_tab_turns_an_as_of_date_into_the_end_of_that_day(
    client, auditor, owned_model, django_capture_on_commit_callbacks
):
    import datetime as dt

    from django.utils import timezone

    client.force_login(auditor)
    day = timezone.localdate() - dt.timedelta(days=1)
    owned_model.created_at = timezone.now() - dt.timedelta(days=30)
    owned_model.save(update_fields=["created_at"])
    with fake_generation(), django_capture_on_commit_callbacks(execute=True):
        client.post(tab_url(owned_model), {"report": "evidence_pack:zip", "as_of": day.isoformat()})
    report = Report.objects.get()
    assert timezone.localtime(report.as_of).date() == day
    assert timezone.localtime(report.as_of).time() == dt.time.max
    assert report.filename.endswith(".zip") and "evidence-pack" in report.filename


def test_viewers_read_the_card_but_ask_for_nothing(client, viewer, owned_model):
    client.force_login(viewer)
    tab = client.get(tab_url(owned_model)).content.decode()
    assert 'id="read-card"' in tab and "report-request-form" not in tab
    assert client.post(tab_url(owned_model), {"report": "model_card:pdf"}).status_code == 403
    assert client.get(LIST).status_code == 403


def test_names_from_the_record_are_escaped(auditor_client, auditor):
    model = RegisteredModelFactory(slug="hostile", name="<script>alert(1)</script>")
    done_report(auditor, model=model)
    page = auditor_client.get(LIST).content.decode()
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)" in page


@pytest.mark.parametrize("count", [3, 30])
def test_the_reports_page_takes_a_constant_number_of_queries(
    auditor_client, auditor, owned_model, count, django_assert_max_num_queries
):
    for _ in range(count):
        done_report(auditor, model=owned_model)
    with django_assert_max_num_queries(14):
        response = auditor_client.get(LIST)
    assert response.status_code == 200 and response.content.decode().count('id="report-') >= 3


@pytest.mark.parametrize("count", [3, 30])
def test_the_model_tab_takes_a_constant_number_of_queries(
    auditor_client, auditor, owned_model, count, django_assert_max_num_queries
):
    for _ in range(count):
        done_report(auditor, model=owned_model)
    with django_assert_max_num_queries(14):
        response = auditor_client.get(tab_url(owned_model))
    assert response.status_code == 200 and response.content.decode().count('id="report-') >= 3


def card_url(model, **params) -> str:
    from urllib.parse import urlencode

    url = reverse("reports:model_card", args=[model.slug])
    return f"{url}?{urlencode(params)}" if params else url


def test_the_model_card_reads_in_the_browser_for_every_role_that_sees_the_model(
    client, viewer, model_owner, owned_model, foreign_model
):
    client.force_login(viewer)
    response = client.get(card_url(owned_model))
    html = response.content.decode()
    assert response.status_code == 200 and response["Content-Type"] == "text/html; charset=utf-8"
    assert "Owned model" in html and "owned-model" in html
    assert 'rel="stylesheet"' not in html  # standalone: its styles are inlined
    client.force_login(model_owner)
    assert client.get(card_url(foreign_model)).status_code == 404


def test_the_browser_card_takes_an_as_of_date_or_time_and_refuses_bad_ones(
    client, auditor, owned_model
):
    import datetime as dt

    from django.utils import timezone

    client.force_login(auditor)
    assert client.get(card_url(owned_model, as_of=timezone.now().isoformat())).status_code == 200
    today = timezone.localdate().isoformat()
    assert client.get(card_url(owned_model, as_of=today)).status_code == 200
    for bad, words in (
        ("soon", "not a date"),
        ((timezone.localdate() + dt.timedelta(days=2)).isoformat(), "future"),
        ("2001-01-01", "did not exist"),
    ):
        response = client.get(card_url(owned_model, as_of=bad))
        assert response.status_code == 400 and words in response.content.decode()
