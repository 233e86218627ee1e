"""A model owner registers a version in a real Chromium, choosing its datasets by typing into
the searchable selects (Tom Select fed by the dataset type-ahead): the page never lists the
catalogue, the choices are saved, and no script or style breaks the content security policy.

Needs a Chromium binary, as tests/browser/test_journey.py; skipped, saying why, without one.
"""

from __future__ import annotations

import hashlib
import os
import re

import pytest

from apps.core import roles
from apps.inventory.choices import LifecycleStatus
from apps.inventory.models import ModelVersion
from tests.browser.test_approvals_journey import _sign_in, browser_page  # noqa: F401
from tests.browser.test_journey import PASSWORD
from tests.factories import DatasetFactory, RegisteredModelFactory, UserFactory

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"


@pytest.fixture
def catalogue(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    owner = UserFactory(username="mo.versions", roles=[roles.MODEL_OWNER], password=PASSWORD)
    model = RegisteredModelFactory(
        slug="failed-delivery",
        name="Failed-delivery predictor",
        owner=owner,
        status=LifecycleStatus.DEVELOPMENT,
    )
    for n in range(60):
        DatasetFactory(name=f"Shipment sample {n:02d}", version="")
    DatasetFactory(name="Parcel scans", slug="parcel-scans", version="2024-06")
    DatasetFactory(name="Parcel holdout", slug="parcel-holdout", version="2024-07")
    return model


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_model_owner_tags_datasets_by_typing(
    live_server,
    browser_page,  # noqa: F811
    catalogue,
):
    from playwright.sync_api import expect

    page = browser_page
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    base = live_server.url
    _sign_in(page, base, "mo.versions")

    page.goto(f"{base}/inventory/models/failed-delivery/versions/new/")
    expect(page.get_by_role("heading", name=re.compile("version", re.I)).first).to_be_visible()
    # The page holds no dataset: the selects start empty, Tom Select asks as one types.
    assert page.locator("select#id_training_datasets option").count() == 0

    page.locator("#id_version").fill("2.0.0")
    page.locator("#id_artifact_uri").fill("s3://models/fd/2.0.0.pkl")
    page.locator("#id_artifact_sha256").fill(hashlib.sha256(b"2.0.0").hexdigest())

    trained = page.get_by_role("combobox", name="Trained on")
    trained.fill("parcel sc")
    page.locator("#id_training_datasets-ts-dropdown .option", has_text="Parcel scans").click()
    evaluated = page.get_by_role("combobox", name="Evaluated on")
    evaluated.fill("holdout")
    options = page.locator("#id_evaluation_datasets-ts-dropdown .option")
    # Only what the server matched is offered.
    expect(options).to_have_count(1)
    options.filter(has_text="Parcel holdout 2024-07").click()
    # Tags, each removable; the hidden select now carries the chosen ids.
    expect(page.locator(".ts-wrapper.multi .item", has_text="Parcel scans 2024-06")).to_have_count(
        1
    )
    page.keyboard.press("Escape")
    page.get_by_role("button", name=re.compile("Register|Save", re.I)).click()

    expect(page.get_by_role("heading", name=re.compile("2.0.0"))).to_be_visible()
    version = ModelVersion.objects.get(model=catalogue, version="2.0.0")
    assert {(link.dataset.slug, link.role) for link in version.dataset_links.all()} == {
        ("parcel-scans", "trained_on"),
        ("parcel-holdout", "evaluated_on"),
    }
    assert problems == []
