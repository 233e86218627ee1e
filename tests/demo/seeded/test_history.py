"""The demo has a history: ``seed_demo`` tells its story under a clock moving through more
than a year, so reports as of a past date show the record as the story says it stood then,
not an empty inventory."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.accounts.models import User
from apps.audit.models import AuditEvent
from apps.demo import monitoring as demo
from apps.inventory.models import RegisteredModel
from apps.reports.choices import ReportFormat, ReportKind, ReportStatus
from apps.reports.register import register_rows
from apps.reports.services import report_generate, report_request
from apps.reports.snapshot import model_snapshot

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded(seeded_demo):
    """The demo, seeded once for the package (conftest.py); the time seeding began."""
    return seeded_demo.started


def _metric(snapshot: dict, name: str) -> dict:
    [entry] = [m for m in snapshot["metrics"] if m["metric"] == name]
    return entry


def test_the_demo_record_as_it_stood_in_the_past_differs_as_the_story_says(seeded):
    now = timezone.now()
    events = list(AuditEvent.objects.order_by("pk").values_list("occurred_at", flat=True))
    # The trail reads in time order, spans more than a year and ends before the seeding did.
    assert all(a < b for a, b in itertools.pairwise(events))
    assert now - events[0] > timedelta(days=365)
    assert events[-1] < now

    # The failed-delivery predictor, 60 days ago: recall fine, its threshold already signed,
    # no incident, no drift. Today: recall critical, the incident the breach opened two
    # weeks ago, and the postcode column drifting.
    predictor = RegisteredModel.objects.get(slug="failed-delivery-predictor")
    then = model_snapshot(model=predictor, as_of=now - timedelta(days=60))
    today = model_snapshot(model=predictor, as_of=now)
    recall_then, recall_now = _metric(then, "recall"), _metric(today, "recall")
    assert recall_then["threshold"]["signoff"]["request_id"] is not None
    assert recall_then["state"] == "ok" and recall_now["state"] == "critical"
    assert then["incidents"] == []
    [incident] = today["incidents"]
    detected = timezone.datetime.fromisoformat(incident["detected_at"])
    assert timedelta(days=demo.POSTCODE_CHANGE_DAYS_AGO - 10) < now - detected
    assert now - detected < timedelta(days=demo.POSTCODE_CHANGE_DAYS_AGO)
    assert then["drift"]["columns_drifted"] == 0
    assert [c["column"] for c in today["drift"]["columns"] if c["drifted"]] == ["postcode_district"]

    # The payment prioritiser, 60 days ago: no candidate yet. Today: 1.1.0 in staging and
    # its promotion rejected.
    payments = RegisteredModel.objects.get(slug="payment-anomaly-prioritiser")
    then = model_snapshot(model=payments, as_of=now - timedelta(days=60))
    today = model_snapshot(model=payments, as_of=now)
    assert "1.1.0" not in {v["version"] for v in then["versions"]}
    assert "1.1.0" in {v["version"] for v in today["versions"]}
    assert ("promotion", "rejected") not in {(a["kind"], a["status"]) for a in then["approvals"]}
    assert ("promotion", "rejected") in {(a["kind"], a["status"]) for a in today["approvals"]}

    # A year ago, the register held the models registered by then, not all of today's.
    auditor = User.objects.get(username="auditor")
    year_ago = register_rows(user=auditor, as_of=now - timedelta(days=365))
    slugs = {row["slug"] for row in year_ago}
    assert "retail-credit-scoring" in slugs and "search-query-ranking" not in slugs
    assert 0 < len(slugs) < RegisteredModel.objects.count()

    # And the card as of 60 days ago generates rather than being refused.
    report = report_request(
        user=auditor,
        kind=ReportKind.MODEL_CARD,
        fmt=ReportFormat.HTML,
        model=predictor,
        as_of=now - timedelta(days=60),
        enqueue=False,
    )
    report = report_generate(report_id=report.pk)
    assert report.status == ReportStatus.DONE, report.error
    body = report.file.read().decode()
    assert "recall" in body and "INC-" not in body
