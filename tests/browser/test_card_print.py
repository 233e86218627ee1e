"""An auditor reads a model card in Chromium: the Print button's script runs under the card's
sandboxed policy (no violation), the button opens the print dialog, the bar above the card is
not printed, and Download PDF hands over the newest PDF of the card."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.urls import reverse

from apps.core import roles
from apps.reports import services
from tests.browser.chromium import sign_in
from tests.browser.test_journey import PASSWORD, browser_page  # noqa: F401
from tests.factories import RegisteredModelFactory, UserFactory
from tests.reports.jobs import FAKE_BYTES, fake_generation, media  # noqa: F401

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

# Counts print() calls instead of opening the dialog, which would block a headless page; and
# reports each policy violation the page meets.
WATCH = """
window.__printed = 0;
window.print = () => { window.__printed += 1; };
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__violations.push(e.effectiveDirective + " " + e.blockedURI);
});
"""


@pytest.fixture
def card_data(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    auditor = UserFactory(username="aud.print", roles=[roles.AUDITOR], password=PASSWORD)
    model = RegisteredModelFactory(slug="failed-delivery", name="Failed-delivery predictor")
    report = services.report_request(
        user=auditor, kind="model_card", fmt="pdf", model=model, enqueue=False
    )
    with fake_generation():
        services.report_generate(report_id=report.pk)
    return model


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_an_auditor_prints_the_card_and_downloads_its_pdf(
    live_server,
    browser_page,  # noqa: F811
    card_data,
):
    from playwright.sync_api import expect

    page = browser_page
    base = live_server.url
    sign_in(page, base, "aud.print", PASSWORD)
    page.add_init_script(WATCH)

    page.goto(base + reverse("reports:model_card", args=[card_data.slug]))

    bar = page.locator(".screen-bar")
    expect(bar.get_by_role("link", name="mlgov")).to_be_visible()
    expect(bar.get_by_role("link", name="← Back to Failed-delivery predictor")).to_be_visible()
    button = bar.get_by_role("button", name="Print")
    expect(button).to_be_visible()  # its script ran: the policy let mlgov's file through
    button.click()
    assert page.evaluate("window.__printed") == 1
    page.emulate_media(media="print")
    expect(bar).to_be_hidden()
    expect(page.locator("h1.cover-title")).to_be_visible()
    page.emulate_media(media="screen")
    expect(bar).to_be_visible()

    with page.expect_download() as download:
        bar.get_by_role("link", name="Download PDF").click()
    path = download.value.path()
    assert download.value.suggested_filename.endswith(".pdf")
    assert Path(path).read_bytes() == FAKE_BYTES
    assert page.evaluate("window.__violations") == []
