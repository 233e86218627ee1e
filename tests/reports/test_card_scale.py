"""The model card at scale: its metric buckets put together from the hourly rollups and a
few raw rows equal those of every raw row, and the card page's query count does not grow
with the model's versions, thresholds or observations."""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict

import pytest
from django.urls import reverse

from apps.monitoring.models import Observation
from apps.reports.snapshot import metrics
from tests.monitoring.observations import batch_for, observe
from tests.reports.conftest import build_world

pytestmark = pytest.mark.django_db


def _raw_buckets(key, moment, days):
    """The day buckets of one series straight from every raw row (the reference)."""
    version_id, metric_id, segment = key
    by_day: dict[int, list] = defaultdict(list)
    for ts, value in Observation.objects.filter(
        version_id=version_id, metric_id=metric_id, segment=segment
    ).values_list("timestamp", "value"):
        delta = (moment - ts).total_seconds()
        if 0 <= delta < days * 86400:
            by_day[int(delta // 86400)].append((ts, value))
    return {
        day: (
            len(rows),
            sum(v for _, v in rows),
            min(v for _, v in rows),
            max(v for _, v in rows),
            max(t for t, _ in rows),
        )
        for day, rows in by_day.items()
    }


@pytest.mark.parametrize("offset_minutes", [0, 17, 23 * 60 + 59])
def test_day_buckets_from_rollups_equal_those_of_the_raw_rows(cast, clock, offset_minutes):
    world = build_world(cast, clock)
    batch = batch_for(world.model, cast.owner, name="dense")
    # Dense days (an observation every 7 minutes for five days) next to the sparse daily ones.
    end = dt.datetime(2026, 1, 10, 13, 42, 11, tzinfo=dt.UTC)
    values = [0.5 + (i % 13) / 100 for i in range(5 * 24 * 60 // 7)]
    observe(world.v1, world.auc, values, batch=batch, end=end, step=dt.timedelta(minutes=7))
    observe(world.v1, world.auc, [0.7, 0.71, 0.72], batch=batch, end=end - dt.timedelta(days=9))
    key = (world.v1.pk, world.auc.pk, "")
    for moment in (
        end + dt.timedelta(minutes=offset_minutes, seconds=3),
        end - dt.timedelta(days=2, minutes=offset_minutes, seconds=5),
    ):
        got = metrics._day_buckets({key}, moment, 20).get(key, {})
        want = _raw_buckets(key, moment, 20)
        assert sorted(got) == sorted(want) and len(want) > 3
        for day, (n, total, low, high, last) in want.items():
            g = got[day]
            assert (g[0], g[2], g[3], g[4]) == (n, low, high, last), day
            assert math.isclose(g[1], total, rel_tol=1e-12), day


def _card_queries(client, model, django_assert_max_num_queries) -> int:
    with django_assert_max_num_queries(40) as captured:
        response = client.get(reverse("reports:model_card", args=[model.slug]))
    assert response.status_code == 200
    return len(captured.captured_queries)


def test_the_card_page_takes_as_many_queries_for_a_model_holding_far_more(
    client, cast, clock, django_assert_max_num_queries
):
    small = build_world(cast, clock, slug="small-model", unit="Small unit")
    large = build_world(cast, clock, slug="large-model", unit="Large unit", extra=4)
    batch = batch_for(large.model, cast.owner, name="dense")
    end = clock()
    observe(
        large.v1,
        large.auc,
        [0.8] * 2000,
        batch=batch,
        end=end,
        step=dt.timedelta(minutes=3),
    )
    client.force_login(cast.admin)
    few = _card_queries(client, small.model, django_assert_max_num_queries)
    many = _card_queries(client, large.model, django_assert_max_num_queries)
    assert many <= few
