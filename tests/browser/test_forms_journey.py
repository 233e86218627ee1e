"""Humane forms in a real Chromium (static/js/choices.js and static/js/forms.js under the
strict Content-Security-Policy): a searchable people picker, the slug filled in from the
name, hyperparameters typed as key/value rows, and the emergency rollback's confirmation.

Needs a Chromium binary (see tests/browser/test_journey.py); skipped, saying why, without.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from django.db import transaction

from apps.core import roles
from apps.incidents import services as incident_services
from apps.inventory.choices import LifecycleStatus
from apps.inventory.models import ModelVersion, RegisteredModel
from apps.inventory.services import promote_version
from tests.browser import test_journey
from tests.browser.test_journey import PASSWORD
from tests.factories import (
    BusinessUnitFactory,
    ModelVersionFactory,
    RegisteredModelFactory,
    UserFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
browser_page = test_journey.browser_page
SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots" / "forms"


@pytest.fixture
def people(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    admin = UserFactory(
        username="ada.admin", first_name="Ada", last_name="Admin", roles=[roles.ADMIN]
    )
    owner = UserFactory(
        username="mona.owner", first_name="Mona", last_name="Owner", roles=[roles.MODEL_OWNER]
    )
    business = UserFactory(
        username="bo.business", first_name="Bo", last_name="Business", roles=[roles.BUSINESS_OWNER]
    )
    for n in range(8):
        UserFactory(username=f"dev{n}", first_name=f"Dev{n}", roles=[roles.MODEL_OWNER])
    UserFactory(username="aud.auditor", first_name="Audrey", roles=[roles.AUDITOR])
    BusinessUnitFactory(name="Logistics", code="logistics")
    return admin, owner, business


@pytest.fixture(autouse=True)
def _screenshots():
    SHOTS.mkdir(parents=True, exist_ok=True)


def sign_in(page, base: str, username: str) -> None:
    from playwright.sync_api import expect

    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()


def watch_csp(page) -> list[str]:
    """Console messages that report a Content-Security-Policy refusal."""
    refusals: list[str] = []
    page.on(
        "console",
        lambda message: (
            refusals.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    return refusals


def test_a_model_is_registered_with_a_searchable_picker_and_a_filled_in_slug(
    live_server, browser_page, people
):
    from playwright.sync_api import expect

    _admin, owner, business = people
    page = browser_page
    refusals = watch_csp(page)
    sign_in(page, live_server.url, "ada.admin")
    page.goto(f"{live_server.url}/inventory/models/new/")

    name = page.locator("#id_name")
    slug = page.locator("#id_slug")
    name.fill("Parcel ETA estimator (v2)")
    expect(slug).to_have_value("parcel-eta-estimator-v2")
    # A slug typed by hand is the user's: renaming no longer touches it.
    slug.fill("parcel-eta")
    name.fill("Parcel arrival estimator")
    expect(slug).to_have_value("parcel-eta")

    # The owner picker: type part of a name, pick the person; auditors are not offered.
    page.locator("#id_owner-ts-control").click()
    page.locator("#id_owner-ts-control").fill("mona")
    dropdown = page.locator("#id_owner-ts-dropdown")
    expect(dropdown).to_contain_text("Mona Owner (mona.owner)")
    expect(dropdown.locator(".option")).to_have_count(1)
    dropdown.locator(".option", has_text="Mona Owner").click()
    expect(page.locator("#id_owner")).to_have_value(str(owner.pk))
    page.locator("#id_owner-ts-control").fill("audrey")
    expect(dropdown).to_contain_text("Nothing matches")
    page.keyboard.press("Escape")

    page.locator("#id_business_owner-ts-control").click()
    page.locator("#id_business_owner-ts-control").fill("bo")
    page.locator("#id_business_owner-ts-dropdown .option", has_text="Bo Business").click()
    expect(page.locator("#id_business_owner")).not_to_have_value("")
    # Developers are tags, not a Ctrl-click list.
    page.locator("#id_developers-ts-control").click()
    page.locator("#id_developers-ts-control").fill("dev3")
    page.locator("#id_developers-ts-dropdown .option", has_text="Dev3").click()
    page.keyboard.press("Escape")
    expect(page.locator("#id_developers + .ts-wrapper .item")).to_have_count(1)

    page.get_by_label("Purpose / intended use").fill("Estimate when a parcel arrives.")
    page.get_by_label("Business unit").select_option(label="Logistics")
    # (A full-page screenshot here would swallow the next click: take it afterwards.)
    page.screenshot(path=str(SHOTS / "model-form-filled.png"))
    page.get_by_role("button", name="Register model").click()
    page.wait_for_load_state("load")
    errors = page.locator(".form-errors, .field .errorlist")
    assert errors.count() == 0, errors.all_inner_texts()
    expect(page).to_have_url(re.compile(r"/inventory/models/parcel-eta/$"))
    model = RegisteredModel.objects.get(slug="parcel-eta")
    assert (model.owner, model.business_owner) == (owner, business)
    assert [u.username for u in model.developers.all()] == ["dev3"]
    assert not refusals, refusals


def test_hyperparameters_are_typed_as_rows_and_posted_as_the_same_json(
    live_server, browser_page, people
):
    from playwright.sync_api import expect

    _admin, owner, business = people
    RegisteredModelFactory(slug="eta", name="ETA", owner=owner, business_owner=business)
    page = browser_page
    refusals = watch_csp(page)
    sign_in(page, live_server.url, "ada.admin")
    page.goto(f"{live_server.url}/inventory/models/eta/versions/new/")

    textarea = page.locator("#id_hyperparameters")
    expect(textarea).to_be_hidden()
    editor = page.locator("#id_hyperparameters + .kv-editor")
    rows = editor.locator("tbody tr")
    expect(rows).to_have_count(1)
    rows.nth(0).locator("input").nth(0).fill("max_depth")
    rows.nth(0).locator("input").nth(1).fill("6")
    editor.get_by_role("button", name="Add a row").click()
    rows.nth(1).locator("input").nth(0).fill("objective")
    rows.nth(1).locator("input").nth(1).fill("binary:logistic")
    editor.get_by_role("button", name="Add a row").click()
    rows.nth(2).locator("input").nth(0).fill("subsample")
    rows.nth(2).locator("input").nth(1).fill("0.8")
    page.screenshot(path=str(SHOTS / "version-form-key-value-rows.png"))
    editor.get_by_role("button", name="Remove row 3").click()
    expect(rows).to_have_count(2)
    assert json.loads(textarea.input_value()) == {"max_depth": 6, "objective": "binary:logistic"}

    metrics = page.locator("#id_evaluation_metrics + .kv-editor tbody tr")
    metrics.nth(0).locator("input").nth(0).fill("auc")
    metrics.nth(0).locator("input").nth(1).fill("0.81")

    page.locator("#id_version").fill("1.0.0")
    page.locator("#id_artifact_uri").fill("s3://models/eta/1.0.0.pkl")
    page.locator("#id_artifact_sha256").fill("a" * 64)
    page.get_by_role("button", name="Register version").click()
    expect(page.locator(".form-errors")).to_have_count(0)
    expect(page).to_have_url(re.compile(r"/inventory/models/eta/versions/1\.0\.0/$"))
    version = ModelVersion.objects.get(model__slug="eta", version="1.0.0")
    assert version.hyperparameters == {"max_depth": 6, "objective": "binary:logistic"}
    assert version.evaluation_metrics == {"auc": 0.81}
    assert not refusals, refusals


def test_the_rollback_asks_for_confirmation_and_the_signature(live_server, browser_page, people):
    from playwright.sync_api import expect

    admin, owner, business = people
    model = RegisteredModelFactory(
        slug="eta",
        name="ETA",
        owner=owner,
        business_owner=business,
        risk_tier=1,
        eu_ai_act_class="minimal",
        status=LifecycleStatus.APPROVED,
    )
    old = ModelVersionFactory(model=model, version="1.0.0")
    new = ModelVersionFactory(model=model, version="2.0.0")
    with transaction.atomic():
        promote_version(actor=admin, version=old, message="First release.")
        promote_version(actor=admin, version=new, message="Retrained.")
    incident = incident_services.incident_create(
        actor=owner, model=model, title="Scores went flat", severity="sev2"
    )
    page = browser_page
    refusals = watch_csp(page)
    sign_in(page, live_server.url, "ada.admin")
    page.goto(f"{live_server.url}{incident.get_absolute_url()}")

    section = page.locator("section", has=page.get_by_role("heading", name="Emergency rollback"))
    section.get_by_label("Reason").fill("2.0.0 scores everything 0.5.")
    section.get_by_label("Your password").fill(PASSWORD)
    button = section.get_by_role("button", name=re.compile(r"Roll back to 1\.0\.0"))

    questions: list[str] = []

    def dismiss(dialog):
        questions.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", dismiss)
    button.click()
    expect(button).to_be_visible()
    assert questions and "Put 1.0.0 back into production in place of 2.0.0" in questions[0]
    new.refresh_from_db()
    assert new.stage == "production"  # cancelled: nothing happened

    # Confirmed with a wrong password: refused, nothing changes.
    section.get_by_label("Your password").fill("not-my-password")
    page.once("dialog", lambda dialog: dialog.accept())
    button.click()
    section = page.locator("section", has=page.get_by_role("heading", name="Emergency rollback"))
    expect(section).to_contain_text("The password is not correct")
    page.screenshot(path=str(SHOTS / "rollback-wrong-password.png"))
    new.refresh_from_db()
    assert new.stage == "production"

    section = page.locator("section", has=page.get_by_role("heading", name="Emergency rollback"))
    section.get_by_label("Reason").fill("2.0.0 scores everything 0.5.")
    section.get_by_label("Your password").fill(PASSWORD)
    page.once("dialog", lambda dialog: dialog.accept())
    section.get_by_role("button", name=re.compile(r"Roll back to 1\.0\.0")).click()
    expect(page.locator(".messages")).to_contain_text("1.0.0 is back in production")
    old.refresh_from_db()
    assert old.stage == "production"
    assert not refusals, refusals
