"""GET /api/v1/models/{slug}/metrics/ and .../metrics/{metric}/: latest values and states,
downsampled series; 404 outside reach; constant query counts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from tests.factories import ModelVersionFactory
from tests.monitoring.factories import MetricFactory, ThresholdFactory
from tests.monitoring.observations import batch_for, breach, observe

pytestmark = pytest.mark.django_db


def list_url(slug="owned-model"):
    return reverse("api:model-metric-list", kwargs={"model_slug": slug})


def detail_url(metric="recall", slug="owned-model"):
    return reverse("api:model-metric-detail", kwargs={"model_slug": slug, "metric": metric})


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def version(owned_model):
    return ModelVersionFactory(model=owned_model, version="1.0.0")


@pytest.fixture
def batch(owned_model, model_owner):
    return batch_for(owned_model, model_owner)


@pytest.fixture
def recall(admin_user):
    return MetricFactory(name="recall", unit="ratio", created_by=admin_user)


@pytest.fixture
def threshold(owned_model, recall, activate):
    return activate(
        ThresholdFactory(model=owned_model, metric=recall, warning_bound=0.8, critical_bound=0.7)
    )


def test_it_lists_metrics_with_the_latest_value_and_threshold_states(
    api, viewer, version, recall, batch, threshold
):
    observe(version, recall, [0.9, 0.85, 0.66], batch=batch)
    observe(version, recall, [0.1], batch=batch, segment="region=eu")  # not the population
    breach(threshold, version, value=0.66, at=timezone.now() - timedelta(hours=1))
    api.force_authenticate(viewer)
    response = api.get(list_url())
    assert response.status_code == 200
    [item] = response.json()
    assert item["name"] == "recall" and item["unit"] == "ratio"
    assert item["latest"]["value"] == 0.66 and item["latest"]["version"] == "1.0.0"
    [t] = item["thresholds"]
    assert t["id"] == threshold.pk and t["version"] is None and t["direction"] == "below"
    assert [(st["version"], st["state"]) for st in t["states"]] == [("1.0.0", "critical")]
    assert item["series_url"].endswith(detail_url())


def test_metrics_without_observations_of_the_model_are_not_listed(api, viewer, owned_model, recall):
    MetricFactory(name="auc")
    api.force_authenticate(viewer)
    assert api.get(list_url()).json() == []


def test_it_returns_a_series_per_version_within_the_range(api, viewer, version, recall, batch):
    observe(version, recall, [0.5] * 10, batch=batch, end=timezone.now() - timedelta(days=100))
    observe(version, recall, [0.9, 0.8, 0.7], batch=batch)
    candidate = ModelVersionFactory(model=version.model, version="2.0.0")
    observe(candidate, recall, [0.95, 0.96], batch=batch)
    api.force_authenticate(viewer)
    body = api.get(detail_url()).json()
    assert body["metric"] == "recall" and body["segment"] == ""
    assert [(s["version"], s["observations"]) for s in body["series"]] == [
        ("1.0.0", 3),
        ("2.0.0", 2),
    ]
    assert [p["value"] for p in body["series"][0]["points"]] == [0.9, 0.8, 0.7]
    since = (timezone.now() - timedelta(days=200)).isoformat()
    body = api.get(detail_url(), {"from": since}).json()
    assert body["series"][0]["observations"] == 13


def test_a_long_series_is_downsampled_keeping_its_spike(api, viewer, version, recall, batch):
    values = [0.8] * 5000
    values[1234] = 0.1
    observe(version, recall, values, batch=batch, step=timedelta(minutes=5))
    api.force_authenticate(viewer)
    body = api.get(detail_url(), {"points": 200}).json()
    [series] = body["series"]
    assert series["observations"] == 5000 and series["downsampled"]
    assert len(series["points"]) <= 200
    assert min(p["value"] for p in series["points"]) == 0.1


def test_it_filters_by_segment(api, viewer, version, recall, batch):
    observe(version, recall, [0.9], batch=batch)
    observe(version, recall, [0.2, 0.3], batch=batch, segment="region=eu")
    api.force_authenticate(viewer)
    body = api.get(detail_url(), {"segment": "region=eu"}).json()
    assert [p["value"] for p in body["series"][0]["points"]] == [0.2, 0.3]


def test_it_lists_thresholds_and_breaches_of_the_metric(
    api, viewer, version, recall, batch, threshold
):
    observe(version, recall, [0.9, 0.6], batch=batch)
    breach(threshold, version, value=0.6, at=timezone.now() - timedelta(hours=2))
    api.force_authenticate(viewer)
    body = api.get(detail_url()).json()
    assert [t["id"] for t in body["thresholds"]] == [threshold.pk]
    [b] = body["breaches"]
    assert b["state"] == "critical" and b["value"] == 0.6 and b["incident"] is None


def test_it_refuses_bad_query_parameters(api, viewer, version, recall):
    api.force_authenticate(viewer)
    now = timezone.now()
    bad = api.get(detail_url(), {"from": now.isoformat(), "to": (now - timedelta(1)).isoformat()})
    assert bad.status_code == 400 and "from" in bad.json()
    assert api.get(detail_url(), {"points": 2}).status_code == 400
    assert api.get(detail_url(), {"from": "yesterday"}).status_code == 400


def test_unknown_metrics_and_invisible_models_answer_404(
    api, model_owner, foreign_model, owned_model, recall
):
    api.force_authenticate(model_owner)
    assert api.get(detail_url("nope")).status_code == 404
    assert api.get(list_url("foreign-model")).status_code == 404
    assert api.get(detail_url(slug="foreign-model")).status_code == 404


def test_anonymous_requests_are_refused(api, owned_model):
    assert api.get(list_url()).status_code in (401, 403)


def _observe_metrics(version, batch, names):
    for name in names:
        observe(version, MetricFactory(name=name), [0.1, 0.2, 0.3], batch=batch)


def test_query_counts_are_constant(
    api, viewer, owned_model, version, batch, django_assert_max_num_queries
):
    _observe_metrics(version, batch, [f"m{i}" for i in range(3)])
    ThresholdFactory(model=owned_model, metric=MetricFactory(name="m0"), status="active")
    api.force_authenticate(viewer)
    with django_assert_max_num_queries(10) as few:
        assert len(api.get(list_url()).json()) == 3
    with django_assert_max_num_queries(10) as few_detail:
        api.get(detail_url("m0"))
    _observe_metrics(version, batch, [f"m{i}" for i in range(3, 30)])
    for _ in range(3):
        other = ModelVersionFactory(model=owned_model)
        observe(other, MetricFactory(name="m0"), [0.5] * 30, batch=batch)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(api.get(list_url()).json()) == 30
    with django_assert_max_num_queries(len(few_detail.captured_queries)):
        assert len(api.get(detail_url("m0")).json()["series"]) == 4
