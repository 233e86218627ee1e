"""The monitoring journey in a real Chromium: a model owner uploads a metrics file from the
model's Monitoring tab and watches the batch finish; the chart shows the metric; the critical
breach has opened an incident, which shows its reporting deadline once it is classed serious;
a bad file is refused with row-level reasons and writes nothing.

Needs a Chromium binary, as tests/browser/test_journey.py; skipped, saying why, without one.
"""

from __future__ import annotations

import datetime as dt
import os

import pytest

from apps.core import roles
from apps.incidents.models import Incident
from apps.inventory.choices import LifecycleStatus
from apps.monitoring.models import Observation
from tests.browser.test_approvals_journey import _sign_in, browser_page  # noqa: F401
from tests.browser.test_journey import PASSWORD
from tests.factories import (
    BusinessUnitFactory,
    ModelVersionFactory,
    RegisteredModelFactory,
    UserFactory,
)
from tests.monitoring.factories import MetricFactory, ThresholdFactory

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"


@pytest.fixture
def monitored(settings):
    """A production model whose recall has a signed threshold (warning 0.8, critical 0.7)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    owner = UserFactory(username="mo.monitor", roles=[roles.MODEL_OWNER], password=PASSWORD)
    UserFactory(username="val.monitor", roles=[roles.VALIDATOR], password=PASSWORD)
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
    recall = MetricFactory(name="recall", created_by=owner)
    ThresholdFactory(
        model=model,
        metric=recall,
        warning_bound=0.8,
        critical_bound=0.7,
        status="active",
        created_by=owner,
    )
    return model


def _csv(values: list[str]) -> bytes:
    start = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=len(values))
    lines = ["model,version,metric,value,timestamp"]
    for day, value in enumerate(values):
        at = (start + dt.timedelta(days=day)).isoformat().replace("+00:00", "Z")
        lines.append(f"failed-delivery,3.1.0,recall,{value},{at}")
    return ("\n".join(lines) + "\n").encode()


def _upload(page, name: str, content: bytes) -> None:
    page.locator("#id_file").set_input_files(
        {"name": name, "mimeType": "text/csv", "buffer": content}
    )
    page.get_by_role("button", name="Upload").click()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_an_upload_shows_on_the_chart_and_a_breach_opens_an_incident(
    live_server,
    browser_page,  # noqa: F811
    monitored,
):
    from playwright.sync_api import expect

    page, base = browser_page, live_server.url
    _sign_in(page, base, "mo.monitor")
    page.goto(f"{base}/monitoring/models/failed-delivery/")

    # A bad file first: a non-numeric value is named by row and column, nothing is written.
    page.get_by_role("link", name="Upload metrics").click()
    _upload(page, "bad.csv", _csv(["0.86", "n/a", "0.84"]))
    expect(page.locator("#batch-state")).to_contain_text("Failed")
    expect(page.locator("main")).to_contain_text("value")
    expect(page.locator("main")).to_contain_text("3")  # line 3 of the file holds "n/a"
    assert Observation.objects.count() == 0

    # The good file: recall falls through both bounds over five days.
    page.goto(f"{base}/monitoring/models/failed-delivery/")
    page.get_by_role("link", name="Upload metrics").click()
    _upload(page, "recall.csv", _csv(["0.86", "0.84", "0.79", "0.72", "0.64"]))
    expect(page.locator("#batch-state")).to_contain_text("Succeeded")
    assert Observation.objects.count() == 5

    # The Monitoring tab draws the series with its bands, and lists the incident.
    page.goto(f"{base}/monitoring/models/failed-delivery/")
    chart = page.locator("svg[role='img']").filter(has_text="recall").first
    expect(chart).to_be_visible()
    incident = Incident.objects.get()
    expect(page.locator("#open-incidents")).to_contain_text(incident.reference)

    # The incident page shows the breach; classed serious, it shows the Art. 73 deadline.
    page.locator("#open-incidents").get_by_role("link").first.click()
    expect(page.locator("main")).to_contain_text(incident.reference)
    expect(page.locator("main")).to_contain_text("0.64")
    assert incident.breaches.filter(state="critical").exists()
    page.get_by_role("button", name="Sign out").click()

    # A validator classes it serious (critical infrastructure): the two-day clock shows.
    _sign_in(page, base, "val.monitor")
    page.goto(f"{base}/incidents/{incident.reference}/edit/")
    page.locator("select[name='serious_category']").select_option("critical_infrastructure")
    page.get_by_role("button", name="Save incident").click()
    expect(page.locator(".countdown").first).to_contain_text("left")
    incident.refresh_from_db()
    assert incident.reporting_deadline - incident.awareness_at == dt.timedelta(days=2)
