"""Rollups, the series table and batch models the loader keeps beside the observations:
bucketed values from rollups equal those from the raw rows, loading the same rows again
changes nothing, the rebuild command gives what the loader gives, and the charts read the
tier the range asks for."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from django.apps import apps as django_apps
from django.core.management import call_command
from django.db import transaction

from apps.monitoring import rollups, selectors
from apps.monitoring.ingestion.loader import load_observations
from apps.monitoring.models import (
    IngestionBatch,
    IngestionBatchModel,
    ObservationRollup,
    ObservationSeries,
)
from tests.factories import ModelVersionFactory
from tests.monitoring.factories import MetricFactory
from tests.monitoring.observations import batch_for

pytestmark = pytest.mark.django_db(transaction=False)

END = datetime(2026, 6, 1, tzinfo=UTC)


# --- pure -------------------------------------------------------------------------------------


def test_days_are_dense_when_an_hour_holds_more_than_one_row():
    hour = 3_600 * 1_000_000
    micros = np.array([0, hour, 2 * hour, 24 * hour, 24 * hour + 60_000_000], dtype=np.int64)
    ones = np.ones(5, dtype=np.int64)
    days, hours = rollups.reduce_rows(ones, ones, micros, np.array([1.0, 5, 2, 3, 4]))
    assert days.bucket.tolist() == [0, 86400]
    assert days.count.tolist() == [3, 2] and days.dense.tolist() == [False, True]
    assert days.low.tolist() == [1.0, 3.0] and days.high.tolist() == [5.0, 4.0]
    assert days.total.tolist() == [8.0, 7.0]
    # Hourly rows only for the dense day: its one hour holding two rows.
    assert hours.bucket.tolist() == [86400] and hours.count.tolist() == [2]


def test_chart_widths_are_whole_multiples_of_the_rollup_read():
    day = rollups.DAY
    assert rollups.chart_width(0, 2 * day, 500)[1] is None
    width, tier = rollups.chart_width(0, 30 * day, 500)
    assert tier == rollups.HOUR and width % rollups.HOUR == 0 and 30 * day / width <= 500
    width, tier = rollups.chart_width(0, 400 * day, 500)
    assert tier == rollups.DAY and width % rollups.DAY == 0


# --- through the loader -------------------------------------------------------------------------


@pytest.fixture
def setup(owned_model, model_owner, admin_user):
    version = ModelVersionFactory(model=owned_model, version="1.0.0")
    dense = MetricFactory(name="dense", created_by=admin_user)
    sparse = MetricFactory(name="sparse", created_by=admin_user)
    return owned_model, version, dense, sparse, model_owner


def _frame(version, metric, times, values, segment=""):
    return pd.DataFrame(
        {
            "version_id": version.pk,
            "metric_id": metric.pk,
            "segment": segment,
            "timestamp": pd.DatetimeIndex(times),
            "value": np.asarray(values, dtype=float),
        }
    )


def _data(version, dense, sparse, days=120):
    rng = np.random.default_rng(3)
    # Dense: every 20 minutes for the last 10 days, hourly before (dense and sparse days).
    hourly = pd.date_range(END - timedelta(days=days), END - timedelta(days=10), freq="h")
    close = pd.date_range(END - timedelta(days=10), END, freq="20min", inclusive="right")
    dense_times = hourly.append(close)
    sparse_times = pd.date_range(END - timedelta(days=days), END, freq="3h")
    return pd.concat(
        [
            _frame(version, dense, dense_times, rng.random(len(dense_times))),
            _frame(version, sparse, sparse_times, rng.random(len(sparse_times))),
        ],
        ignore_index=True,
    )


def _kept():
    """The rollup rows, sums rounded (the loader sums in numpy, a rebuild in the database)."""
    rows = ObservationRollup.objects.values_list(
        "version_id",
        "metric_id",
        "segment",
        "width",
        "bucket",
        "count",
        "low",
        "high",
        "first_at",
        "last_at",
        "dense",
        "total",
    )
    return sorted((*r[:-1], round(r[-1], 9)) for r in rows)


def _load(batch, frame):
    with transaction.atomic():
        return load_observations(batch=batch, frame=frame)


def _buckets(model, days, source="auto"):
    rows = selectors.series_buckets(
        model=model, start=END - timedelta(days=days), end=END, source=source
    )
    return [(m, v, b, round(t0, 3), round(t1, 3), lo, hi, n) for m, v, b, t0, t1, lo, hi, n in rows]


@pytest.mark.parametrize("days", [30, 119])
def test_bucketed_values_from_rollups_equal_those_from_raw_rows(setup, days):
    model, version, dense, sparse, owner = setup
    _load(batch_for(model, owner, name="a"), _data(version, dense, sparse))
    _width, tier = rollups.chart_width(0, days * rollups.DAY, 500)
    assert tier == (rollups.HOUR if days <= 45 else rollups.DAY)
    from_rollups = _buckets(model, days)
    assert from_rollups == _buckets(model, days, source="raw")
    assert sum(r[-1] for r in from_rollups) > 1000


def test_loading_the_same_rows_again_leaves_the_rollups_as_they_were(setup):
    model, version, dense, sparse, owner = setup
    frame = _data(version, dense, sparse)
    _load(batch_for(model, owner, name="a"), frame)
    before = _kept()
    series = sorted(ObservationSeries.objects.values_list())
    result = _load(batch_for(model, owner, name="b"), frame)
    assert result.loaded == 0
    assert _kept() == before
    assert sorted(ObservationSeries.objects.values_list()) == series


def test_rows_added_to_days_already_held_are_merged(setup):
    model, version, dense, sparse, owner = setup
    frame = _data(version, dense, sparse)
    first, second = frame.iloc[::2], frame.iloc[1::2]
    _load(batch_for(model, owner, name="a"), first)
    _load(batch_for(model, owner, name="b"), pd.concat([second, first.iloc[:50]]))
    for days in (30, 119):
        assert _buckets(model, days) == _buckets(model, days, source="raw")
    latest = ObservationSeries.objects.get(metric=dense)
    last = frame[frame.metric_id == dense.pk].value.iloc[-1]
    assert latest.last_at == END and latest.last_value == pytest.approx(last)


def test_the_rebuild_command_gives_what_the_loader_keeps(setup):
    model, version, dense, sparse, owner = setup
    _load(batch_for(model, owner, name="a"), _data(version, dense, sparse))

    loaded = _kept()
    series = sorted(ObservationSeries.objects.values_list())
    ObservationRollup.objects.all().delete()
    ObservationSeries.objects.all().delete()
    IngestionBatchModel.objects.all().delete()
    call_command("rebuild_observation_rollups", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert _kept() == loaded
    assert sorted(ObservationSeries.objects.values_list()) == series
    assert IngestionBatchModel.objects.filter(model=model).exists()


def test_an_unscoped_batch_is_listed_on_the_models_it_holds_rows_of(setup, foreign_model, viewer):
    model, version, dense, sparse, owner = setup
    unscoped = batch_for(model, owner, name="several")
    IngestionBatch.objects.filter(pk=unscoped.pk).update(scope_model=None)
    _load(unscoped, _data(version, dense, sparse, days=2))
    listed = selectors.model_batch_list(user=viewer, model=model)
    assert unscoped.pk in {b.pk for b in listed}
    assert unscoped.pk not in {
        b.pk for b in selectors.model_batch_list(user=viewer, model=foreign_model)
    }


def test_latest_values_come_from_the_series_table(setup):
    model, version, dense, sparse, owner = setup
    frame = _data(version, dense, sparse, days=5)
    newer = ModelVersionFactory(model=model, version="2.0.0")
    _load(batch_for(model, owner, name="a"), frame)
    _load(
        batch_for(model, owner, name="b"),
        _frame(newer, sparse, [END - timedelta(days=1)], [0.25]),
    )
    metrics = {m.name: m for m in selectors.model_metrics(model=model)}
    assert set(metrics) == {"dense", "sparse"}
    assert metrics["dense"].latest_at == END and metrics["dense"].latest_version == "1.0.0"
    # The sparse metric's last row (1.0.0) is at END too; 2.0.0's is older.
    assert metrics["sparse"].latest_at == END


def test_a_file_loaded_chunk_by_chunk_keeps_exact_rollups(setup):
    """Chunks split series and days (the day a chunk ends on is merged, the rest copied)."""
    from apps.monitoring.ingestion.loader import StreamLoad

    model, version, dense, sparse, owner = setup
    frame = _data(version, dense, sparse)
    batch = batch_for(model, owner, name="a")
    with transaction.atomic():
        load = StreamLoad(batch_id=batch.pk)
        for start in range(0, len(frame), 1000):
            chunk = frame.iloc[start : start + 1000]
            load.add(chunk, lambda chunk=chunk: np.arange(len(chunk)))
        assert load.insert() == len(frame)
    for days in (30, 119):
        assert _buckets(model, days) == _buckets(model, days, source="raw")
    in_one = _kept()
    ObservationRollup.objects.all().delete()
    call_command("rebuild_observation_rollups", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert _kept() == in_one


def test_retention_takes_the_rollups_and_series_of_the_rows_it_deletes(setup, settings):
    from apps.monitoring.retention import observations_purge

    model, version, dense, sparse, owner = setup
    _load(batch_for(model, owner, name="a"), _data(version, dense, sparse))
    settings.MLGOV_OBSERVATION_RETENTION_DAYS = 200
    from apps.core import clock

    cutoff_now = END + timedelta(days=200 - 60)  # the cut-off falls 60 days before END
    with clock.reading(lambda: cutoff_now):
        result = observations_purge()
    assert result.deleted > 0
    for days in (30, 119):
        assert _buckets(model, days) == _buckets(model, days, source="raw")
    first = min(ObservationSeries.objects.values_list("first_at", flat=True))
    assert first >= result.cutoff


def test_the_upgrade_migration_fills_what_an_older_load_left_without(setup):
    """Observations loaded before the loader kept series and rollups get them on migrate."""
    model, version, dense, sparse, owner = setup
    _load(batch_for(model, owner, name="a"), _data(version, dense, sparse))
    loaded = _kept()
    series = sorted(ObservationSeries.objects.values_list())
    ObservationRollup.objects.all().delete()
    ObservationSeries.objects.all().delete()
    IngestionBatchModel.objects.all().delete()

    backfill = importlib.import_module(
        "apps.monitoring.migrations.0010_backfill_series_and_rollups"
    ).backfill
    backfill(django_apps, None)
    assert _kept() == loaded
    assert sorted(ObservationSeries.objects.values_list()) == series
    assert IngestionBatchModel.objects.filter(model=model).exists()
    backfill(django_apps, None)  # again: nothing left to do, nothing changes
    assert _kept() == loaded
