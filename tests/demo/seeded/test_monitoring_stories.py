"""The monitoring stories of ``seed_demo``: 90 days of evaluated metrics per model, the
failed-delivery predictor's recall breach, incident and postcode drift, the payment
prioritiser's rejected candidate and the recommendation service's monthly value."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from django.core.management import call_command
from django.db.models import Avg, Max, Min
from django.urls import reverse

from apps.accounts.models import User
from apps.approvals.choices import ApprovalKind, RequestStatus
from apps.approvals.models import ApprovalRequest, Decision
from apps.audit.models import AuditEvent
from apps.demo import monitoring as demo
from apps.incidents.choices import ACTIVE_STATUSES
from apps.incidents.models import Incident
from apps.inventory.choices import LifecycleStatus
from apps.inventory.models import ModelVersion, RegisteredModel
from apps.monitoring.choices import BatchStatus, IngestionSource
from apps.monitoring.models import (
    Breach,
    DriftRun,
    IngestionBatch,
    Observation,
    Threshold,
    ThresholdState,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded(seeded_demo):
    """The demo, seeded once for the package (conftest.py)."""
    return seeded_demo


def _counts() -> dict[str, int]:
    return {
        m.__name__: m.objects.count()
        for m in (
            Observation,
            IngestionBatch,
            ThresholdState,
            Breach,
            Incident,
            DriftRun,
            ModelVersion,
            ApprovalRequest,
            Decision,
            AuditEvent,
        )
    }


def _observations(slug: str, metric: str, version: str | None = None):
    qs = Observation.objects.filter(version__model__slug=slug, metric__name=metric, segment="")
    return qs.filter(version__version=version) if version else qs


def test_the_demo_tells_the_monitoring_stories_once(seeded, client):
    # 90 days of metrics for every model in use, loaded as succeeded demo batches.
    live = RegisteredModel.objects.exclude(status=LifecycleStatus.RETIRED).filter(
        versions__isnull=False
    )
    for model in live.distinct():
        span = Observation.objects.filter(version__model=model).aggregate(
            first=Min("timestamp"), last=Max("timestamp")
        )
        assert span["last"] - span["first"] >= timedelta(days=89), model.slug
    demo_batches = IngestionBatch.objects.filter(source=IngestionSource.DEMO)
    assert set(demo_batches.values_list("status", flat=True)) == {BatchStatus.SUCCEEDED}
    assert not Observation.objects.filter(version__model__status=LifecycleStatus.RETIRED)

    # (a) The failed-delivery predictor: recall fell, its signed threshold is critical, the
    # evaluation opened an incident, and the drift runs show the postcode column drifting.
    recall = Threshold.objects.get(
        model__slug="failed-delivery-predictor", metric__name="recall", status="active"
    )
    assert recall.signoff_request.status == RequestStatus.APPROVED
    [state] = ThresholdState.objects.filter(threshold=recall)
    assert state.state == "critical" and state.value < recall.critical_bound
    [incident] = Incident.objects.filter(threshold=recall, status__in=ACTIVE_STATUSES)
    assert incident.model.slug == "failed-delivery-predictor"
    assert incident.breaches.filter(state="critical").exists()
    before = _observations("failed-delivery-predictor", "recall").filter(
        timestamp__lt=demo.demo_anchor() - timedelta(days=25)
    )
    assert before.aggregate(low=Min("value"))["low"] > recall.warning_bound
    runs = list(DriftRun.objects.filter(version__model__slug="failed-delivery-predictor"))
    assert len(runs) == demo.DRIFT_WEEKS + 1 and {r.status for r in runs} == {"succeeded"}
    latest, oldest = max(runs, key=lambda r: r.observed_at), min(runs, key=lambda r: r.observed_at)
    assert latest.columns.get(column="postcode_district").drifted
    assert not latest.columns.exclude(column="postcode_district").filter(drifted=True).exists()
    assert not oldest.columns.filter(drifted=True).exists()
    assert _observations("failed-delivery-predictor", "drift.psi.postcode_district").count() == (
        len(runs)
    )

    # (b) The payment prioritiser's candidate flags about twice as many payments, and its
    # promotion was rejected by the business owner citing the alert-rate shift.
    rates = {
        v: _observations("payment-anomaly-prioritiser", "alert_rate", v)
        .filter(timestamp__gte=demo.demo_anchor() - timedelta(days=demo.CANDIDATE_SHADOW_DAYS))
        .aggregate(mean=Avg("value"))["mean"]
        for v in ("1.0.0", "1.1.0")
    }
    assert rates["1.1.0"] > 1.8 * rates["1.0.0"]
    candidate = ModelVersion.objects.get(model__slug="payment-anomaly-prioritiser", version="1.1.0")
    assert candidate.stage == "staging"
    [promotion] = ApprovalRequest.objects.filter(
        kind=ApprovalKind.PROMOTION,
        subject_type="inventory.modelversion",
        subject_id=str(candidate.pk),
    )
    assert promotion.status == RequestStatus.REJECTED
    [decision] = promotion.decisions.filter(verdict="reject")
    assert decision.approver == candidate.model.business_owner
    assert "alert" in decision.comment and "2.3%" in decision.comment
    alert_threshold = Threshold.objects.get(
        model__slug="payment-anomaly-prioritiser", metric__name="alert_rate", status="active"
    )
    assert alert_threshold.version.version == "1.0.0"
    assert ThresholdState.objects.get(threshold=alert_threshold).state == "ok"

    # (c) The recommendation service's value versus cost: one value a month, first days.
    monthly = _observations("product-recommendations", "value_vs_cost")
    assert monthly.count() == 12
    assert {t.day for t in monthly.values_list("timestamp", flat=True)} == {1}

    # The Monitoring tab draws the story: the critical zone and the breach of recall.
    client.force_login(User.objects.get(username="viewer"))
    body = client.get(
        reverse("monitoring:model_monitoring", kwargs={"slug": "failed-delivery-predictor"})
    ).content.decode()
    assert 'class="breach breach--critical"' in body and incident.reference in body

    # A second run changes nothing.
    counts = _counts()
    call_command("seed_demo", stdout=io.StringIO())
    assert _counts() == counts


def test_series_are_drawn_the_same_way_for_the_same_anchor():
    anchor = datetime(2026, 4, 1, tzinfo=UTC)
    spec = demo.SERIES[3]  # the falling recall
    first = demo.series_values(spec, anchor, np.random.default_rng(demo.RNG_SEED))
    again = demo.series_values(spec, anchor, np.random.default_rng(demo.RNG_SEED))
    assert first[0] == again[0] and np.array_equal(first[1], again[1])
    times, values = first
    assert len(times) == 90 * 4 and times[-1] == anchor
    assert values[:200].mean() == pytest.approx(0.84, abs=0.01)
    assert values[-40:].mean() == pytest.approx(0.66, abs=0.01)


def test_monthly_series_fall_on_the_first_days_of_the_last_twelve_months():
    spec = next(s for s in demo.SERIES if s.monthly)
    times, values = demo.series_values(
        spec, datetime(2026, 2, 14, tzinfo=UTC), np.random.default_rng(1)
    )
    assert times[0] == datetime(2025, 2, 1, tzinfo=UTC)
    assert times[-1] == datetime(2026, 1, 1, tzinfo=UTC)
    assert len(values) == 12 and all(t.day == 1 for t in times)


def test_every_demo_series_names_a_demo_metric():
    names = {name for name, *_ in demo.METRICS}
    assert {s.metric for s in demo.SERIES} <= names
