"""The auditor's reports journey in a real Chromium: sign in, open a model, export its model
card as PDF and its evidence pack from the Reports tab, and download both (a PDF, and a ZIP
whose manifest verifies). The HTML card opens in the browser too.

Needs a Chromium binary, as tests/browser/test_journey.py; skipped, saying why, without one.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest

from apps.core import roles
from apps.core.signing import installation_keyset
from apps.inventory.choices import LifecycleStatus
from apps.reports.evidence import verify_pack
from apps.reports.models import Report
from tests.browser.test_approvals_journey import _sign_in, browser_page  # noqa: F401
from tests.browser.test_journey import PASSWORD
from tests.factories import (
    BusinessUnitFactory,
    ModelVersionFactory,
    RegisteredModelFactory,
    UserFactory,
)

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"


@pytest.fixture
def audited(settings, tmp_path):
    """An auditor and a production model with a version; report files in a temporary folder."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = str(tmp_path / "media")
    UserFactory(username="aud.reports", roles=[roles.AUDITOR], password=PASSWORD)
    owner = UserFactory(username="mo.reports", roles=[roles.MODEL_OWNER])
    model = RegisteredModelFactory(
        slug="failed-delivery",
        name="Failed-delivery predictor",
        business_unit=BusinessUnitFactory(name="Logistics", code="logistics"),
        owner=owner,
        business_owner=UserFactory(roles=[roles.BUSINESS_OWNER]),
        risk_tier=2,
        status=LifecycleStatus.PRODUCTION,
    )
    ModelVersionFactory(model=model, version="3.1.0", stage="production")
    return model


def _export(page, option: str) -> Path:
    """From the model's Reports tab: ask for ``option``, wait for it, download the file."""
    from playwright.sync_api import expect

    page.get_by_role("link", name="Reports", exact=True).last.click()
    expect(page.get_by_role("heading", name="Generate a report")).to_be_visible()
    page.locator("#id_report").select_option(label=option)
    # Without a broker the job runs as the request commits; the pack renders several PDFs.
    with page.expect_navigation(timeout=120_000):
        page.get_by_role("button", name="Generate report").click()
    expect(page.locator("#report-state")).to_contain_text("Done", timeout=60_000)
    with page.expect_download() as info:
        page.locator("#report-download").click()
    download = info.value
    path = Path(download.path())
    assert download.suggested_filename.startswith("failed-delivery-")
    return path


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_an_auditor_exports_the_pdf_card_and_the_evidence_pack(
    live_server,
    browser_page,  # noqa: F811
    audited,
):
    from playwright.sync_api import expect

    page, base = browser_page, live_server.url
    _sign_in(page, base, "aud.reports")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Models").click()
    page.get_by_role("link", name="Failed-delivery predictor").first.click()
    expect(page.get_by_role("heading", name="Failed-delivery predictor")).to_be_visible()

    card = _export(page, "Model card — PDF")
    assert card.read_bytes().startswith(b"%PDF-")

    page.goto(f"{base}/inventory/models/failed-delivery/")
    pack = _export(page, "Evidence pack — ZIP")
    assert zipfile.is_zipfile(pack)
    result = verify_pack(pack, keyset=installation_keyset())
    assert result.ok, result.problems()
    assert "model-card.pdf" in result.checked

    reports = Report.objects.order_by("pk")
    assert [(r.kind, r.format, r.status) for r in reports] == [
        ("model_card", "pdf", "done"),
        ("evidence_pack", "zip", "done"),
    ]
    assert {r.requested_by.username for r in reports} == {"aud.reports"}

    # The HTML card opens in the browser, from the same tab.
    page.goto(f"{base}/reports/models/failed-delivery/card/")
    expect(page.locator("body")).to_contain_text("Failed-delivery predictor")
