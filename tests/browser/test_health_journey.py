"""A validator finds the troubled model by its health: the inventory's Health column and
filter, the banner on the model page with links, the Incidents tab and the dashboard's
summary, in Chromium at laptop and phone widths (no horizontal overflow of the banner).

Set ``MLGOV_SCREENSHOT_DIR`` to keep screenshots of each step."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from apps.core import roles
from apps.inventory.choices import LifecycleStatus
from tests.browser.test_journey import PASSWORD, browser_page  # noqa: F401
from tests.factories import BusinessUnitFactory, RegisteredModelFactory, UserFactory
from tests.inventory.health_data import (
    add_breach,
    add_incident,
    add_overdue_finding,
    make_overdue_review,
)

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"


@pytest.fixture
def health_data(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    validator = UserFactory(username="val.health", roles=[roles.VALIDATOR], password=PASSWORD)
    owner = UserFactory(username="mo.health", roles=[roles.MODEL_OWNER])
    logistics = BusinessUnitFactory(name="Logistics", code="logistics")
    troubled = RegisteredModelFactory(
        slug="failed-delivery",
        name="Failed-delivery predictor",
        business_unit=logistics,
        owner=owner,
        risk_tier=1,
        status=LifecycleStatus.PRODUCTION,
    )
    add_incident(troubled, serious=True, title="Recall collapsed after the carrier change")
    add_breach(troubled, "critical", metric="recall")
    make_overdue_review(troubled, days=12)
    add_overdue_finding(troubled, title="Labels from the old carrier")
    RegisteredModelFactory(
        slug="payment-anomaly", name="Payment-anomaly prioritiser", owner=owner, risk_tier=2
    )
    return validator


def _shot(page, name: str) -> None:
    folder = os.environ.get("MLGOV_SCREENSHOT_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def _no_overflow(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"] + 1, width


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width", [1440, 390])
def test_a_validator_finds_the_troubled_model_by_its_health(
    live_server,
    browser_page,  # noqa: F811
    health_data,
    width,
):
    from playwright.sync_api import expect

    page = browser_page
    page.set_viewport_size({"width": width, "height": 900})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    base = live_server.url
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill("val.health")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    summary = page.locator("#health-summary")
    expect(summary).to_contain_text("Open incident")
    _shot(page, f"dashboard-{width}")

    summary.get_by_role("link", name=re.compile("Open incident")).click()
    expect(page).to_have_url(re.compile(r"health=incident"))
    table = page.locator("#model-table")
    expect(table).to_contain_text("Failed-delivery predictor")
    expect(table).not_to_contain_text("Payment-anomaly prioritiser")
    expect(table).to_contain_text("Serious incident")
    expect(page.get_by_label("Open incident")).to_be_checked()
    _shot(page, f"inventory-health-filter-{width}")

    # Ticking OK as well brings the healthy model back (HTMX refreshes the results).
    page.get_by_label("OK", exact=True).check()
    expect(table).to_contain_text("Payment-anomaly prioritiser")

    table.get_by_role("link", name="Failed-delivery predictor").click()
    banner = page.locator("#health-banner")
    expect(banner).to_contain_text("Serious incident: what needs attention")
    expect(banner).to_contain_text("A signed threshold is critical")
    expect(banner).to_contain_text("The periodic review was due")
    _no_overflow(page)
    _shot(page, f"model-banner-{width}")

    banner.get_by_role("link", name=re.compile("A serious incident is open")).click()
    expect(page.locator("#model-incident-table")).to_contain_text(
        "Recall collapsed after the carrier change"
    )
    expect(page.locator("#health-banner")).to_be_visible()
    _shot(page, f"model-incidents-tab-{width}")

    page.locator("#model-incident-table").get_by_role("link", name=re.compile("INC-")).click()
    expect(page).to_have_url(re.compile(r"/incidents/INC-"))
    assert not [e for e in errors if "Content Security Policy" in e], errors
