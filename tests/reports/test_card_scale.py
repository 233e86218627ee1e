"""The model card at scale: its metric buckets put together from the hourly rollups and a
few raw rows equal those of every raw row, and the card page keeps within the page budget of
12 queries, a count that does not grow with the model's versions, thresholds, observations,
approvals, incidents, findings, deployments or links, now or as of a past time."""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.incidents import services as incidents
from apps.inventory import services as inventory
from apps.monitoring.models import Observation
from apps.reports.snapshot import metrics, model_snapshot
from apps.reviews import services as reviews
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


#: The product's budget for any page, whatever the data: the card's preview reads each kind
#: of row once, whatever the model holds.
CARD_QUERIES = 12


def _card_queries(client, model, django_assert_max_num_queries, **params) -> int:
    url = reverse("reports:model_card", args=[model.slug])
    with django_assert_max_num_queries(CARD_QUERIES) as captured:
        response = client.get(url, params)
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


def _more_of_everything(world, cast, clock, n: int) -> None:
    """``n`` more findings (with their reviews), deployments and models feeding this one."""
    for i in range(n):
        review = reviews.review_create(
            actor=cast.validator, model=world.model, scope=f"Targeted review {i}"
        )
        reviews.finding_create(
            actor=cast.validator,
            model=world.model,
            review=review,
            title=f"Finding {i}",
            severity="low",
            description="Document the cut-off.",
            owner=cast.owner,
            due_date=timezone.localdate() + dt.timedelta(days=30 + i),
        )
        inventory.deployment_create(
            actor=cast.owner, version=world.v1, environment="staging", endpoint=f"https://s/{i}"
        )
        feeder = inventory.registered_model_create(
            actor=cast.owner,
            slug=f"{world.model.slug}-feeder-{i}",
            name=f"Feeder {i}",
            purpose="Feeds the model.",
            business_unit=world.model.business_unit,
            business_owner=cast.business_owner,
        )
        inventory.model_dependency_create(actor=cast.owner, upstream=feeder, downstream=world.model)
    clock.advance(minutes=5)


def _change_after(world, cast) -> None:
    """Edits an as-of card undoes: the unit renamed, a dataset corrected, the finding
    remediated, the incident investigated, the feed from the features model removed."""
    unit = world.model.business_unit
    name = f"{unit.name} (renamed)"
    inventory.business_unit_update(actor=cast.admin, unit=unit, code=unit.code, name=name)
    inventory.dataset_update(actor=cast.admin, dataset=world.train, name="Loans (fixed)")
    reviews.finding_update(actor=cast.owner, finding=world.finding, evidence="Segment added.")
    reviews.finding_set_status(actor=cast.owner, finding=world.finding, status="remediated")
    incidents.incident_transition(actor=cast.owner, incident=world.incident, status="investigating")
    inventory.model_dependency_delete(actor=cast.admin, dependency=world.dependency)


def test_the_card_page_takes_at_most_twelve_queries_for_every_role_now_and_as_of_a_past_time(
    client, cast, clock, auditor, django_assert_max_num_queries
):
    """A model with several versions, thresholds, approvals, incidents, findings, deployments
    and links, and one with several times more of each: the same queries, within the
    budget, for each role that reads cards, for the card of now and of a past time."""
    small = build_world(cast, clock, slug="small-model", unit="Small unit")
    large = build_world(cast, clock, slug="large-model", unit="Large unit", extra=6)
    _more_of_everything(small, cast, clock, 1)
    _more_of_everything(large, cast, clock, 8)
    then = timezone.now()
    clock.advance(days=1)
    for world in (small, large):
        _change_after(world, cast)
    clock.advance(hours=1)

    for user in (cast.validator, cast.business_owner, cast.owner, auditor):
        client.force_login(user)
        for params in ({}, {"as_of": then.isoformat()}):
            few = _card_queries(client, small.model, django_assert_max_num_queries, **params)
            many = _card_queries(client, large.model, django_assert_max_num_queries, **params)
            assert many == few, (user.username, params)
    snapshot = model_snapshot(model=large.model, as_of=then)
    fewer = model_snapshot(model=small.model, as_of=then)
    assert len(snapshot["approvals"]) >= len(fewer["approvals"]) + 12
    assert len(snapshot["versions"]) == 8 and len(snapshot["findings"]) == 9
    assert len(snapshot["metrics"]) == 8 and len(snapshot["incidents"]) == 7
    assert len(snapshot["deployments"]) == 9 and len(snapshot["dependencies"]["upstream"]) == 9
    assert snapshot["model"]["business_unit"]["name"] == "Large unit"


def test_the_card_page_takes_as_many_queries_with_many_more_metrics_observed(
    client, cast, clock, django_assert_max_num_queries
):
    """Every metric observed is charted: a model with a dozen more metrics observed on
    several versions and segments (no threshold watching them) reads the same queries."""
    from tests.reports.conftest import metric

    small = build_world(cast, clock, slug="small-model", unit="Small unit")
    large = build_world(cast, clock, slug="large-model", unit="Large unit", extra=2)
    batch = batch_for(large.model, cast.owner, name="many-metrics")
    end = clock()
    for i in range(12):
        observed = metric(cast.admin, f"observed-{i}", "higher_is_better")
        for version in (large.v1, *large.extra_versions):
            observe(version, observed, [0.5 + i / 100] * 30, batch=batch, end=end)
            observe(version, observed, [0.4] * 5, batch=batch, end=end, segment="north")
    clock.advance(hours=1)
    client.force_login(cast.admin)

    few = _card_queries(client, small.model, django_assert_max_num_queries)
    many = _card_queries(client, large.model, django_assert_max_num_queries)

    assert many <= few
    charted = {m["metric"] for m in model_snapshot(model=large.model)["observed_metrics"]}
    assert {f"observed-{i}" for i in range(12)} <= charted


def test_a_model_without_thresholds_or_observations_has_a_card():
    from tests.factories import RegisteredModelFactory

    snapshot = model_snapshot(model=RegisteredModelFactory())
    assert snapshot["metrics"] == []
