"""The Approvals tab in a real Chromium: choosing a kind keeps the version choices to those
the approval engine would accept for it (static/js/request-offers.js), without breaking the
content security policy; the request then goes through.

Needs a Chromium binary, as tests/browser/test_journey.py; skipped, saying why, without one.
"""

from __future__ import annotations

import os

import pytest

from apps.approvals.choices import ApprovalKind
from apps.approvals.models import ApprovalRequest
from apps.core import roles
from apps.inventory.choices import LifecycleStatus
from tests.browser.test_approvals_journey import _sign_in, browser_page  # noqa: F401
from tests.browser.test_journey import PASSWORD
from tests.factories import ModelVersionFactory, RegisteredModelFactory, UserFactory

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"


@pytest.fixture
def approved_model(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    owner = UserFactory(username="mo.offers", roles=[roles.MODEL_OWNER], password=PASSWORD)
    model = RegisteredModelFactory(
        slug="failed-delivery",
        name="Failed-delivery predictor",
        owner=owner,
        status=LifecycleStatus.APPROVED,
        risk_tier=2,
        eu_ai_act_class="minimal",
    )
    validated = ModelVersionFactory(model=model, version="1.0.0")
    ModelVersionFactory(model=model, version="1.1.0")
    ApprovalRequest.objects.create(
        kind=ApprovalKind.VALIDATION_SIGNOFF,
        model=model,
        subject_type="inventory.modelversion",
        subject_id=str(validated.pk),
        title="Validation of 1.0.0",
        content={},
        content_sha256="0" * 64,
        required_slots=[],
        status="approved",
        requested_by=owner,
        requested_at=model.created_at,
        closed_at=model.created_at,
    )
    return model


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_version_choices_follow_the_kind(
    live_server,
    browser_page,  # noqa: F811
    approved_model,
):
    from playwright.sync_api import expect

    page = browser_page
    page.set_default_timeout(60_000)  # a busy machine serves the live server slowly
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    base = live_server.url
    _sign_in(page, base, "mo.offers")
    page.goto(f"{base}/approvals/models/failed-delivery/")
    form = page.locator("form[data-request-offers]")
    kind = form.locator("select[name=kind]")
    version = form.locator("select[name=version]")

    # Tier 2: only the validated 1.0.0 may be promoted; both may be validated.
    kind.select_option(ApprovalKind.PROMOTION.value)
    expect(version.locator("option[value='1.1.0']")).to_be_disabled()
    expect(version.locator("option[value='1.0.0']")).to_be_enabled()
    kind.select_option(ApprovalKind.VALIDATION_SIGNOFF.value)
    expect(version.locator("option[value='1.1.0']")).to_be_enabled()
    kind.select_option(ApprovalKind.RETIREMENT.value)
    expect(version).to_be_disabled()
    expect(page.locator("#request-unavailable")).to_contain_text(
        "need an approved validation of 1.1.0"
    )

    shots = os.environ.get("MLGOV_SCREENSHOTS")  # e.g. var/screenshots/actions
    if shots:
        page.locator("#request-heading").scroll_into_view_if_needed()
        page.screenshot(
            path=os.path.join(shots, "approvals-tab-request-offers.png"), full_page=True
        )
    kind.select_option(ApprovalKind.PROMOTION.value)
    version.select_option("1.0.0")
    form.get_by_role("button", name="Request sign-off").click()
    expect(page.locator(".messages")).to_contain_text("Requested: Promote")
    assert ApprovalRequest.objects.filter(kind=ApprovalKind.PROMOTION, status="pending").exists()
    assert not problems, problems
