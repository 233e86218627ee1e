"""GET /api/v1/models/{slug}/metrics/{metric}/observations/ (keyset pages) and
.../observations/csv/ (streamed): a metric's observations at full resolution, in (version,
time) order; 404 outside reach; a late page costs the queries the first does."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from tests.factories import ModelVersionFactory
from tests.monitoring.factories import MetricFactory
from tests.monitoring.observations import batch_for, observe

pytestmark = pytest.mark.django_db


def url(name="observations", slug="owned-model", metric="recall", **params):
    path = reverse(f"api:model-metric-{name}", kwargs={"model_slug": slug, "metric": metric})
    return path + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else "")


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def series(owned_model, model_owner, admin_user):
    """Two versions of recall, 30 and 20 hourly points; a segment and another metric."""
    recall = MetricFactory(name="recall", created_by=admin_user)
    other = MetricFactory(name="precision", created_by=admin_user)
    batch = batch_for(owned_model, model_owner)
    old = ModelVersionFactory(model=owned_model, version="1.0.0")
    new = ModelVersionFactory(model=owned_model, version="2.0.0")
    hour = timedelta(hours=1)
    observe(old, recall, [i / 100 for i in range(30)], batch=batch, step=hour)
    observe(new, recall, [0.5 + i / 100 for i in range(20)], batch=batch, step=hour)
    observe(new, recall, [0.1], batch=batch, segment="region=eu")
    observe(new, other, [0.3, 0.4], batch=batch)
    return old, new


def _all_pages(api, first):
    rows, pages, link = [], 0, first
    while link:
        response = api.get(link)
        assert response.status_code == 200, response.content
        rows += response.json()["results"]
        link = response.json()["next"]
        pages += 1
    return rows, pages


def test_pages_follow_the_cursor_through_every_observation_in_order(api, viewer, series):
    api.force_authenticate(viewer)
    rows, pages = _all_pages(api, url(page_size=7))
    assert pages == 8  # 50 rows, 7 a page
    assert [r["version"] for r in rows] == ["1.0.0"] * 30 + ["2.0.0"] * 20
    assert [r["value"] for r in rows[:3]] == [0.0, 0.01, 0.02]
    times = [r["timestamp"] for r in rows[:30]]
    assert times == sorted(times) and len(set(times)) == 30


def test_a_segment_and_a_time_range_select_the_rows(api, viewer, series):
    api.force_authenticate(viewer)
    rows, _ = _all_pages(api, url(segment="region=eu"))
    assert [(r["version"], r["value"]) for r in rows] == [("2.0.0", 0.1)]
    since = (timezone.now() - timedelta(hours=5, minutes=30)).isoformat().replace("+", "%2B")
    rows, _ = _all_pages(api, url(**{"from": since}))
    assert len(rows) == 10  # the last 5 hours of each version


def test_a_late_page_costs_the_queries_of_the_first(
    api, viewer, series, django_assert_max_num_queries
):
    api.force_authenticate(viewer)
    with django_assert_max_num_queries(12) as first:
        response = api.get(url(page_size=5))
    queries = len(first.captured_queries)  # read now: the next request clears the log
    link = response.json()["next"]
    for _ in range(7):  # into the second version
        link = api.get(link).json()["next"]
    with django_assert_max_num_queries(queries):
        assert api.get(link).status_code == 200


def test_a_broken_cursor_is_refused(api, viewer, series):
    api.force_authenticate(viewer)
    assert api.get(url(cursor="not-a-cursor")).status_code == 400


def test_models_out_of_reach_and_unknown_metrics_answer_404(
    api, model_owner, series, foreign_model
):
    api.force_authenticate(model_owner)
    assert api.get(url(slug=foreign_model.slug)).status_code == 404
    assert api.get(url(name="observations-csv", slug=foreign_model.slug)).status_code == 404
    assert api.get(url(metric="nope")).status_code == 404


def test_the_csv_streams_every_observation(api, viewer, series):
    api.force_authenticate(viewer)
    response = api.get(url(name="observations-csv"))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert "owned-model-recall-observations.csv" in response["Content-Disposition"]
    body = b"".join(response.streaming_content).decode()
    rows = list(csv.DictReader(io.StringIO(body)))
    assert len(rows) == 50 and rows[0]["version"] == "1.0.0" and rows[-1]["version"] == "2.0.0"
    assert float(rows[-1]["value"]) == pytest.approx(0.69)
