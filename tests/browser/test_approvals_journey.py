"""The sign-off journey in a real Chromium: a model owner proposes a threshold for sign-off,
the business owner finds it in the inbox (with the navigation badge), sees what changes,
approves with the password in place, the threshold becomes active and the audit log shows
each step; the model owner's attempt to approve their own request is refused.

Needs a Chromium binary, as tests/browser/test_journey.py; skipped, saying why, without one.
"""

from __future__ import annotations

import os
import re

import pytest

from apps.approvals.models import ApprovalRequest
from apps.core import roles
from apps.inventory.choices import LifecycleStatus
from apps.monitoring.choices import ThresholdStatus
from tests.browser.test_journey import CHROMIUM_ARGS, PASSWORD, chromium_path
from tests.factories import BusinessUnitFactory, RegisteredModelFactory, UserFactory
from tests.monitoring.factories import MetricFactory, ThresholdFactory

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"


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
def signoff_data(settings):
    """A Tier 3 model (its business owner alone signs thresholds) with a drafted threshold."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    owner = UserFactory(username="mo.journey", roles=[roles.MODEL_OWNER], password=PASSWORD)
    business = UserFactory(username="bo.journey", roles=[roles.BUSINESS_OWNER], password=PASSWORD)
    UserFactory(username="aud.journey", roles=[roles.AUDITOR], password=PASSWORD)
    model = RegisteredModelFactory(
        slug="failed-delivery",
        name="Failed-delivery predictor",
        business_unit=BusinessUnitFactory(name="Logistics", code="logistics"),
        owner=owner,
        business_owner=business,
        risk_tier=3,
        eu_ai_act_class="minimal",
        status=LifecycleStatus.PRODUCTION,
    )
    metric = MetricFactory(name="auc", created_by=owner)
    return ThresholdFactory(model=model, metric=metric, created_by=owner)


def _sign_in(page, base: str, username: str) -> None:
    from playwright.sync_api import expect

    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()


def _sign_out(page) -> None:
    page.get_by_role("button", name="Sign out").click()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_business_owner_signs_off_a_threshold_from_the_inbox(
    live_server, browser_page, signoff_data
):
    from playwright.sync_api import expect

    page, base, threshold = browser_page, live_server.url, signoff_data
    detail = f"{base}/monitoring/models/failed-delivery/thresholds/{threshold.pk}/"

    # The model owner proposes the drafted threshold for sign-off.
    _sign_in(page, base, "mo.journey")
    page.goto(detail)
    page.get_by_role("button", name="Submit for sign-off").click()
    expect(page.locator(".messages")).to_contain_text("Sign-off requested")
    approval = ApprovalRequest.objects.get()

    # Their own request: no signing form, and a forged approval is refused.
    page.goto(f"{base}/approvals/models/failed-delivery/")
    page.get_by_role("link", name=approval.title).click()
    expect(page.locator("#decision-refusal")).to_contain_text(
        "You made this request; someone else must decide it."
    )
    expect(page.get_by_role("button", name="Sign decision")).to_have_count(0)
    status = page.evaluate(
        """async ([url, password]) => {
            const token = JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRFToken'];
            const body = new URLSearchParams({
                [`r${url.split('/').at(-3)}-verdict`]: 'approve',
                [`r${url.split('/').at(-3)}-password`]: password,
            });
            const r = await fetch(url, {method: 'POST', body, headers: {'X-CSRFToken': token}});
            return r.status;
        }""",
        [f"/approvals/requests/{approval.pk}/decide/", PASSWORD],
    )
    assert status == 403
    _sign_out(page)

    # The business owner sees it waiting, with the badge, and what changes.
    _sign_in(page, base, "bo.journey")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.locator(".nav-count")).to_have_text("1")
    nav.get_by_role("link", name=re.compile("My approvals")).click()
    item = page.locator(f"#request-{approval.pk}")
    expect(item).to_contain_text(approval.title)
    expect(item.locator(f"#compare-{approval.pk}")).to_be_visible()
    expect(item).to_contain_text("Electronic signature.")
    expect(item).to_contain_text(approval.content_sha256)

    # A wrong password signs nothing; the right one approves in place.
    item.get_by_label("Approve").check()
    item.get_by_label("Your password").fill("not-the-password")
    item.get_by_role("button", name="Sign decision").click()
    expect(item).to_contain_text("The password is not correct")
    item.get_by_label("Approve").check()
    item.get_by_label("Your password").fill(PASSWORD)
    item.get_by_role("button", name="Sign decision").click()
    expect(item).to_contain_text("has been signed")
    expect(item).to_contain_text("quorum is met")
    expect(nav.locator(".nav-count")).to_have_count(0)
    expect(page).to_have_url(re.compile(r"/approvals/$"))

    # The effect: the threshold is active.
    page.goto(detail)
    expect(page.locator("h1 + p .badge").first).to_have_text("Active")
    threshold.refresh_from_db()
    assert threshold.status == ThresholdStatus.ACTIVE
    _sign_out(page)

    # The audit log shows each step: the request, the signed decision, the activation.
    _sign_in(page, base, "aud.journey")
    page.goto(f"{base}/audit/")
    events = page.locator("#event-table")
    expect(events).to_contain_text(approval.title)
    expect(events).to_contain_text("mo.journey")
    expect(events).to_contain_text("bo.journey")
    expect(events).to_contain_text("Decided")
    expect(events).to_contain_text("Status changed")
