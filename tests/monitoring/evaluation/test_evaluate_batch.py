"""Threshold evaluation after a batch: values on known series, scope, states, set-based SQL."""

from __future__ import annotations

import statistics

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.audit.models import AuditEvent
from apps.incidents.models import Incident, IncidentEvent
from apps.monitoring.evaluation.services import evaluate_batch
from apps.monitoring.models import Breach, ThresholdState
from apps.notifications.models import Notification
from tests.monitoring.evaluation.helpers import day, ingest, load, new_batch

pytestmark = pytest.mark.django_db

# Ten daily values: 0.9, 0.88, ..., 0.72 (falling by 0.02 a day).
SERIES = [(day(i), round(0.9 - 0.02 * i, 4)) for i in range(10)]


def _state(threshold, version) -> ThresholdState:
    return ThresholdState.objects.get(threshold=threshold, version=version)


def test_it_evaluates_the_latest_value(make_threshold, v1, auc):
    threshold = make_threshold()
    ingest(v1, auc, SERIES)
    state = _state(threshold, v1)
    assert state.value == pytest.approx(0.72)
    assert state.state == "warning"  # 0.72 <= 0.75 warning, > 0.70 critical
    assert state.sample_count == 1
    assert state.window_start is None
    assert state.window_end == day(9)


def test_the_latest_value_is_one_sample_whatever_the_minimum(make_threshold, v1, auc):
    threshold = make_threshold(min_samples=5)
    ingest(v1, auc, [(day(0), 0.6)])
    assert _state(threshold, v1).state == "critical"


@pytest.mark.parametrize(
    ("evaluation", "expected"),
    [
        # window of 3 days ending at day 9 → days 6, 7, 8, 9 (inclusive bounds)
        ("mean", statistics.fmean(v for _, v in SERIES[6:])),
        ("min", min(v for _, v in SERIES[6:])),
        ("max", max(v for _, v in SERIES[6:])),
    ],
)
def test_it_aggregates_over_the_window(make_threshold, v1, auc, evaluation, expected):
    threshold = make_threshold(evaluation=evaluation, window_days=3)
    ingest(v1, auc, SERIES)
    state = _state(threshold, v1)
    assert state.value == pytest.approx(expected)
    assert state.sample_count == 4
    assert state.window_start == day(6)
    assert state.window_end == day(9)


def test_the_max_of_the_window_classifies_ok(make_threshold, v1, auc):
    threshold = make_threshold(evaluation="max", window_days=3)
    ingest(v1, auc, SERIES)
    assert _state(threshold, v1).state == "ok"  # max 0.78 > 0.75


def test_too_few_samples_in_the_window_are_insufficient(make_threshold, v1, auc):
    threshold = make_threshold(evaluation="mean", window_days=3, min_samples=5)
    ingest(v1, auc, [(day(0), 0.1), (day(1), 0.1), (day(2), 0.1)])
    state = _state(threshold, v1)
    assert state.state == "insufficient"
    assert state.sample_count == 3
    assert not Breach.objects.exists()


def test_older_points_outside_the_window_do_not_count(make_threshold, v1, auc):
    threshold = make_threshold(evaluation="mean", window_days=2, min_samples=3)
    ingest(v1, auc, [(day(0), 0.1), (day(1), 0.1), (day(5), 0.9), (day(6), 0.9)])
    state = _state(threshold, v1)
    assert (state.state, state.sample_count) == ("insufficient", 2)


def test_a_model_wide_threshold_applies_to_each_version_apart(make_threshold, v1, v2, auc):
    threshold = make_threshold()
    batch = new_batch(v1.model.owner)
    load(batch, v1, auc, [(day(0), 0.9)])
    load(batch, v2, auc, [(day(0), 0.5)])
    evaluate_batch(batch=batch)
    assert _state(threshold, v1).state == "ok"
    assert _state(threshold, v2).state == "critical"


def test_a_version_threshold_applies_to_its_version_only(make_threshold, v1, v2, auc):
    threshold = make_threshold(version=v2)
    batch = new_batch(v1.model.owner)
    load(batch, v1, auc, [(day(0), 0.5)])
    load(batch, v2, auc, [(day(0), 0.8)])
    evaluate_batch(batch=batch)
    assert list(ThresholdState.objects.values_list("threshold", "version", "state")) == [
        (threshold.pk, v2.pk, "ok")
    ]


def test_a_segment_threshold_reads_its_segment_exactly(make_threshold, v1, auc):
    whole = make_threshold()
    eu = make_threshold(segment="region=eu")
    batch = new_batch(v1.model.owner)
    load(batch, v1, auc, [(day(0), 0.5)], segment="region=eu")
    load(batch, v1, auc, [(day(0), 0.9)], segment="region=us")
    evaluate_batch(batch=batch)
    assert _state(eu, v1).state == "critical"
    # The whole-population threshold reads only rows without a segment: none here.
    assert not ThresholdState.objects.filter(threshold=whole).exists()
    ingest(v1, auc, [(day(1), 0.8)])
    assert _state(whole, v1).state == "ok"


def test_thresholds_that_are_not_active_are_ignored(make_threshold, v1, auc):
    make_threshold(status="draft")
    make_threshold(status="expired", segment="x")
    _, summary = ingest(v1, auc, SERIES)
    assert summary.evaluated == 0
    assert not ThresholdState.objects.exists()


def test_a_late_batch_of_older_points_evaluates_the_newest_value(make_threshold, v1, auc):
    threshold = make_threshold()
    ingest(v1, auc, [(day(5), 0.9)])
    ingest(v1, auc, [(day(1), 0.1)])
    state = _state(threshold, v1)
    assert (state.state, state.value, state.window_end) == ("ok", 0.9, day(5))


def _queries_to_evaluate(version, metric, n: int) -> int:
    batch = new_batch(version.model.owner)
    load(batch, version, metric, [(day(i / 100), 0.9) for i in range(n)])
    with CaptureQueriesContext(connection) as ctx:
        evaluate_batch(batch=batch)
    return len(ctx.captured_queries)


def test_the_query_count_does_not_grow_with_the_rows(make_threshold, v1, v2, auc):
    make_threshold()
    small = _queries_to_evaluate(v1, auc, 10)
    large = _queries_to_evaluate(v2, auc, 1000)
    assert small == large
    assert large <= 10


def test_evaluating_the_same_batch_twice_changes_nothing(make_threshold, v1, v2, auc):
    make_threshold()
    batch = new_batch(v1.model.owner)
    load(batch, v1, auc, [(day(0), 0.5)])
    load(batch, v2, auc, [(day(0), 0.73)])
    first = evaluate_batch(batch=batch)
    assert (first.breaches_started, first.incidents) == (2, 1)
    counts = (
        AuditEvent.objects.count(),
        Breach.objects.count(),
        IncidentEvent.objects.count(),
        Notification.objects.count(),
        list(ThresholdState.objects.values_list("evaluated_at", flat=True)),
    )
    again = evaluate_batch(batch=batch)
    assert (again.evaluated, again.changed) == (2, 0)
    assert counts == (
        AuditEvent.objects.count(),
        Breach.objects.count(),
        IncidentEvent.objects.count(),
        Notification.objects.count(),
        list(ThresholdState.objects.values_list("evaluated_at", flat=True)),
    )


def test_a_warning_starts_a_breach_and_notifies_the_owners(make_threshold, v1, auc):
    threshold = make_threshold()
    ingest(v1, auc, [(day(0), 0.74)])
    breach = Breach.objects.get()
    assert (breach.state, breach.value, breach.ended_at, breach.incident) == (
        "warning",
        0.74,
        None,
        None,
    )
    model = threshold.model
    notified = set(
        Notification.objects.filter(event="threshold.warning").values_list("recipient", flat=True)
    )
    assert notified == {model.owner_id, model.business_owner_id}
    assert not Incident.objects.exists()
    assert AuditEvent.objects.filter(object_type="monitoring.breach", action="create").exists()


def test_warning_to_critical_escalates(make_threshold, v1, auc):
    threshold = make_threshold()
    ingest(v1, auc, [(day(0), 0.74)])
    ingest(v1, auc, [(day(1), 0.6)])
    warning, critical = Breach.objects.order_by("pk")
    assert warning.state == "warning" and warning.ended_at is not None
    assert critical.state == "critical" and critical.ended_at is None
    assert critical.incident.threshold == threshold
    state = _state(threshold, v1)
    assert state.state == "critical"


def test_staying_critical_adds_no_breach(make_threshold, v1, auc):
    make_threshold()
    ingest(v1, auc, [(day(0), 0.6)])
    ingest(v1, auc, [(day(1), 0.5)])
    assert Breach.objects.count() == 1
    assert IncidentEvent.objects.filter(kind="breach").count() == 1


def test_insufficient_data_leaves_the_open_breach_open(make_threshold, v1, auc):
    threshold = make_threshold(evaluation="mean", window_days=1, min_samples=2)
    ingest(v1, auc, [(day(0), 0.6), (day(0.5), 0.6)])
    ingest(v1, auc, [(day(5), 0.9)])
    assert _state(threshold, v1).state == "insufficient"
    assert Breach.objects.get().ended_at is None


def test_since_keeps_the_time_the_state_was_entered(make_threshold, v1, auc):
    threshold = make_threshold()
    ingest(v1, auc, [(day(0), 0.9)])
    since = _state(threshold, v1).since
    ingest(v1, auc, [(day(1), 0.95)])
    state = _state(threshold, v1)
    assert (state.since, state.value) == (since, 0.95)


def test_the_caller_may_name_the_series_it_loaded(make_threshold, v1, v2, auc):
    threshold = make_threshold()
    batch = new_batch(v1.model.owner)
    load(batch, v1, auc, [(day(0), 0.6)])
    load(batch, v2, auc, [(day(0), 0.9)])
    summary = evaluate_batch(batch=batch, series=[(v1.pk, auc.pk, ""), (v2.pk, auc.pk, "")])
    assert summary.evaluated == 2
    assert _state(threshold, v1).state == "critical" and _state(threshold, v2).state == "ok"
    assert evaluate_batch(batch=batch).changed == 0  # the same as reading them from the rows
