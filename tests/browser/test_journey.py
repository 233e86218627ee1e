"""The validator's journey in a real Chromium: sign in, filter, open, edit, read History.

Needs a Chromium binary (Debian package ``chromium``; CI installs it). Set ``MLGOV_CHROMIUM``
to use another one. Skipped, saying why, when none is found.
"""

from __future__ import annotations

import os
import re

import pytest

from apps.core import roles
from apps.inventory.choices import LifecycleStatus
from tests.browser.chromium import CHROMIUM_ARGS, chromium_path
from tests.factories import BusinessUnitFactory, RegisteredModelFactory, UserFactory

# Playwright's sync API runs an event loop in this thread; the ORM calls the test makes to
# set up data are plain synchronous calls and safe here.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

PASSWORD = "correct-horse-battery"


@pytest.fixture
def browser_page():
    executable = chromium_path()
    if executable is None:
        reason = (
            "no Chromium binary found (set MLGOV_CHROMIUM or `apt-get install -y chromium`); "
            "browser journey skipped"
        )
        print(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.set_default_timeout(15_000)
        try:
            yield page
        finally:
            browser.close()


@pytest.fixture
def journey_data(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    validator = UserFactory(username="val.journey", roles=[roles.VALIDATOR], password=PASSWORD)
    owner = UserFactory(username="mo.journey", roles=[roles.MODEL_OWNER])
    business = UserFactory(username="bo.journey", roles=[roles.BUSINESS_OWNER])
    logistics = BusinessUnitFactory(name="Logistics", code="logistics")
    finance = BusinessUnitFactory(name="Finance Operations", code="finance-ops")
    RegisteredModelFactory(
        slug="failed-delivery",
        name="Failed-delivery predictor",
        purpose="Predict which parcels will fail delivery.",
        business_unit=logistics,
        owner=owner,
        business_owner=business,
        risk_tier=2,
        status=LifecycleStatus.VALIDATION,
    )
    RegisteredModelFactory(
        slug="payment-anomaly",
        name="Payment-anomaly prioritiser",
        business_unit=finance,
        owner=owner,
        business_owner=business,
        risk_tier=1,
    )
    return validator


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_validator_edits_a_purpose_and_sees_it_in_history(
    live_server, browser_page, journey_data
):
    from playwright.sync_api import expect

    page = browser_page
    base = live_server.url

    page.goto(f"{base}/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    page.get_by_label("Username").fill("val.journey")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Models").click()
    table = page.locator("#model-table")
    expect(table).to_contain_text("Payment-anomaly prioritiser")
    # Filter by business unit: HTMX refreshes the results in place.
    page.locator("#id_business_unit-ts-control").click()
    page.locator("#id_business_unit-ts-control").fill("Logis")
    page.locator("#id_business_unit-ts-dropdown .option", has_text="Logistics").click()
    page.keyboard.press("Escape")
    expect(table).not_to_contain_text("Payment-anomaly prioritiser")
    expect(table).to_contain_text("Failed-delivery predictor")
    expect(page).to_have_url(re.compile(r"business_unit=logistics"))

    page.get_by_role("link", name="Failed-delivery predictor").click()
    expect(page.get_by_role("heading", name="Failed-delivery predictor", level=1)).to_be_visible()

    page.get_by_role("link", name="Edit", exact=True).click()
    purpose = page.get_by_label("Purpose / intended use")
    purpose.fill("Rank parcels by their risk of a failed first delivery attempt.")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator(".messages")).to_contain_text("has been updated")

    page.get_by_role("link", name="History").click()
    history = page.locator("#history-table")
    expect(history).to_contain_text(
        "Rank parcels by their risk of a failed first delivery attempt."
    )
    expect(history).to_contain_text("Predict which parcels will fail delivery.")
    expect(history).to_contain_text("val.journey")
    expect(page).to_have_url(re.compile(r"/inventory/models/failed-delivery/history/$"))
