"""The bar above the model card read in the browser: mlgov's name, the way back to the model,
the newest PDF of the card to download (or where to make one) and a Print button run by a
script file of mlgov's own, under the card's sandboxed policy; hidden when printed."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.reports import services
from apps.reports.forms import end_of_day
from apps.reports.models import Report
from tests.reports.jobs import done_report, fake_generation, media  # noqa: F401

pytestmark = pytest.mark.django_db


def card_url(model, **params) -> str:
    from urllib.parse import urlencode

    url = reverse("reports:model_card", args=[model.slug])
    return f"{url}?{urlencode(params)}" if params else url


def _bar(html: str) -> str:
    return html[html.index('<header class="screen-bar">') : html.index("</header>")]


def _link(html: str, element_id: str) -> str | None:
    found = re.search(rf'<a id="{element_id}" href="([^"]*)"', html)
    return found.group(1).replace("&amp;", "&") if found else None


def _done_card_pdf(user, model, *, as_of=None) -> Report:
    report = services.report_request(
        user=user, kind="model_card", fmt="pdf", model=model, as_of=as_of, enqueue=False
    )
    with fake_generation():
        services.report_generate(report_id=report.pk)
    return report


def test_the_bar_names_mlgov_leads_back_to_the_model_and_offers_print(client, auditor, owned_model):
    client.force_login(auditor)

    html = client.get(card_url(owned_model)).content.decode()

    bar = _bar(html)
    assert re.search(r'<a class="screen-bar__brand" href="/">mlgov</a>', bar)
    assert f'href="{owned_model.get_absolute_url()}">&larr; Back to Owned model</a>' in bar
    # Hidden until its script runs, so no dead button shows where scripts do not.
    assert re.search(r'<button type="button"[^>]*data-print hidden>Print</button>', bar)
    scripts = re.findall(r"<script\b[^>]*>", html)
    assert len(scripts) == 1, scripts
    assert re.fullmatch(
        r'<script src="/static/js/print-button(\.[0-9a-f]+)?\.js" defer>', scripts[0]
    )
    assert not re.search(r"\son[a-z]+\s*=", html)  # no inline handler anywhere


def test_the_print_stylesheet_hides_the_bar(client, auditor, owned_model):
    client.force_login(auditor)

    html = client.get(card_url(owned_model)).content.decode()

    printed = re.search(r'<style media="print">(.*?)</style>', html, re.S).group(1)
    assert re.search(r"^\.screen-bar \{ display: none; \}$", printed, re.M)
    screen = re.search(r'<style media="screen">(.*?)</style>', html, re.S).group(1)
    assert ".screen-bar {" in screen  # shown on screen only


def test_download_pdf_is_the_newest_finished_pdf_of_the_same_as_of(client, auditor, owned_model):
    older = _done_card_pdf(auditor, owned_model)
    newest = _done_card_pdf(auditor, owned_model)
    done_report(auditor, model=owned_model, fmt="html")  # not a PDF
    day = timezone.localdate() - dt.timedelta(days=1)
    owned_model.__class__.objects.filter(pk=owned_model.pk).update(
        created_at=timezone.now() - dt.timedelta(days=30)
    )
    owned_model.refresh_from_db()
    past = _done_card_pdf(auditor, owned_model, as_of=end_of_day(day))
    client.force_login(auditor)

    now_page = client.get(card_url(owned_model)).content.decode()
    past_page = client.get(card_url(owned_model, as_of=day.isoformat())).content.decode()

    assert older.pk < newest.pk
    assert _link(now_page, "card-pdf") == reverse("reports:report_download", args=[newest.pk])
    assert f"(report {newest.pk})" in _bar(now_page)
    assert _link(past_page, "card-pdf") == reverse("reports:report_download", args=[past.pk])
    make = _link(past_page, "card-make-pdf")
    assert make == (
        reverse("reports:model_reports", args=[owned_model.slug])
        + f"?report=model_card%3Apdf&as_of={day.isoformat()}#request-heading"
    )
    assert "Make a new PDF" in _bar(past_page)


def test_without_a_pdf_the_bar_offers_to_make_one_chosen_in_the_reports_tab(
    client, model_owner, owned_model
):
    client.force_login(model_owner)

    html = client.get(card_url(owned_model)).content.decode()
    assert _link(html, "card-pdf") is None
    make = _link(html, "card-make-pdf")
    assert ">Make a PDF</a>" in _bar(html)

    tab = client.get(make).content.decode()
    assert re.search(r'<option value="model_card:pdf" selected>', tab)


def test_a_pdf_someone_else_asked_for_is_not_offered_to_a_model_owner(
    client, auditor, model_owner, owned_model
):
    _done_card_pdf(auditor, owned_model)  # model owners see the reports they asked for
    client.force_login(model_owner)

    html = client.get(card_url(owned_model)).content.decode()

    assert _link(html, "card-pdf") is None and _link(html, "card-make-pdf") is not None


def test_a_viewer_reads_the_card_with_no_pdf_to_make(client, auditor, viewer, owned_model):
    _done_card_pdf(auditor, owned_model)
    client.force_login(viewer)

    html = client.get(card_url(owned_model)).content.decode()

    assert _link(html, "card-pdf") is None and _link(html, "card-make-pdf") is None
    assert "Back to Owned model" in _bar(html)


@pytest.mark.parametrize("count", [1, 12])
def test_the_card_page_reads_its_pdf_in_one_query_however_many_there_are(
    client, auditor, owned_model, count, django_assert_max_num_queries
):
    for _ in range(count):
        _done_card_pdf(auditor, owned_model)
    client.force_login(auditor)

    with django_assert_max_num_queries(12):
        response = client.get(card_url(owned_model))

    assert response.status_code == 200 and "Download PDF" in response.content.decode()
