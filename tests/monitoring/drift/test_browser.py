"""A model owner uploads two samples in a real Chromium and reads the drift table."""

from __future__ import annotations

import re

import pytest

from apps.core import roles
from tests.browser.page_checks import OVERFLOW_PROBE
from tests.browser.test_journey import PASSWORD
from tests.factories import ModelVersionFactory, RegisteredModelFactory, UserFactory
from tests.monitoring.drift.factories import samples


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_an_owner_uploads_samples_and_sees_the_drifted_column(
    live_server,
    browser_page,
    settings,
    tmp_path,
):
    from playwright.sync_api import expect

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    owner = UserFactory(username="mo.drift", roles=[roles.MODEL_OWNER], password=PASSWORD)
    model = RegisteredModelFactory(slug="failed-delivery", name="Failed-delivery", owner=owner)
    ModelVersionFactory(model=model, version="2.1.0", created_by=owner)
    ref, cur = samples()
    ref.to_csv(tmp_path / "train.csv", index=False)
    cur.to_parquet(tmp_path / "last_week.parquet", index=False)

    page = browser_page
    page.goto(f"{live_server.url}/monitoring/models/failed-delivery/drift/")
    page.get_by_label("Username").fill("mo.drift")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Data drift of Failed-delivery")).to_be_visible()
    page.get_by_label("Reference sample").set_input_files(str(tmp_path / "train.csv"))
    page.get_by_label("Current sample").set_input_files(str(tmp_path / "last_week.parquet"))
    page.get_by_role("button", name="Run drift analysis").click()

    expect(page).to_have_url(re.compile(r"/drift/\d+/$"))
    run_url = page.url
    expect(page.locator("#drift-status")).to_contain_text("Succeeded")
    expect(page.locator("#drift-summary")).to_contain_text("1 of 2 columns drifted")
    age = page.get_by_role("row", name=re.compile(r"^age"))
    expect(age).to_contain_text("Drifted")
    expect(age.locator("svg")).to_have_attribute("aria-label", re.compile("drifted$"))

    page.get_by_role("navigation", name="Breadcrumb").get_by_role("link", name="Drift").click()
    expect(page.locator("#drift-runs")).to_contain_text("1 / 2")

    # On a phone the drift table scrolls inside its card and the page is no wider than the
    # screen (the table's visually hidden last heading once widened the page to 810 px).
    page.set_viewport_size({"width": 390, "height": 844})
    for url in (run_url, f"{live_server.url}/monitoring/models/failed-delivery/"):
        page.goto(url)
        expect(page.locator("table").first).to_be_visible()
        probe = page.evaluate(OVERFLOW_PROBE)
        assert probe["scrollWidth"] <= probe["clientWidth"], (url, probe)
