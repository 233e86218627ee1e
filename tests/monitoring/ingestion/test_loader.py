"""The loader: set-based, inside the caller's transaction, duplicates skipped and counted."""

from __future__ import annotations

import pandas as pd
import pytest
from django.db import IntegrityError, connection, transaction

from apps.monitoring.ingestion import binary, loader
from apps.monitoring.models import IngestionBatch, Observation

pytestmark = pytest.mark.django_db
on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the COPY path runs on PostgreSQL"
)


@pytest.fixture
def batch(model_owner):
    return IngestionBatch.objects.create(
        source="command", file_format="csv", sha256="0" * 64, created_by=model_owner
    )


def frame(version_id, metric_id, n=3, segment="", start="2025-01-01"):
    return pd.DataFrame(
        {
            "version_id": [version_id] * n,
            "metric_id": [metric_id] * n,
            "segment": [segment] * n,
            "timestamp": pd.date_range(start, periods=n, freq="h", tz="UTC").astype(
                "datetime64[ns, UTC]"
            ),
            "value": [0.5 + i / 10 for i in range(n)],
        }
    ).astype({"segment": object})


def test_it_loads_rows_and_counts_those_already_recorded(batch, versions, auc):
    own = versions["own"].pk
    with transaction.atomic():
        first = loader.load_observations(batch=batch, frame=frame(own, auc.pk, 3))
        second = loader.load_observations(batch=batch, frame=frame(own, auc.pk, 5))
        segmented = loader.load_observations(
            batch=batch, frame=frame(own, auc.pk, 2, segment="region=eu")
        )
    assert (first.loaded, first.duplicate) == (3, 0)
    assert (second.loaded, second.duplicate) == (2, 3)
    assert (segmented.loaded, segmented.duplicate) == (2, 0)
    stored = Observation.objects.order_by("segment", "timestamp")
    assert [(o.segment, o.timestamp.isoformat(), o.value) for o in stored[:2]] == [
        ("", "2025-01-01T00:00:00+00:00", 0.5),
        ("", "2025-01-01T01:00:00+00:00", 0.6),
    ]
    assert stored.count() == 7


@pytest.mark.django_db(transaction=True)
def test_it_runs_only_inside_the_callers_transaction(batch, versions, auc):
    with pytest.raises(RuntimeError, match="inside the caller's transaction"):
        loader.load_observations(batch=batch, frame=frame(versions["own"].pk, auc.pk))


def test_rows_vanish_with_the_callers_rollback(batch, versions, auc):
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        loader.load_observations(batch=batch, frame=frame(versions["own"].pk, auc.pk))
        assert Observation.objects.count() == 3
        1 / 0  # noqa: B018
    assert Observation.objects.count() == 0


@pytest.mark.parametrize("dangling", ["version", "metric"])
def test_it_refuses_rows_that_refer_to_nothing(batch, versions, auc, dangling):
    version_id, metric_id = versions["own"].pk, auc.pk
    if dangling == "version":
        version_id = 987654
    else:
        metric_id = 987654
    with pytest.raises(IntegrityError, match="do not exist"), transaction.atomic():
        loader.load_observations(batch=batch, frame=frame(version_id, metric_id))
    assert Observation.objects.count() == 0


def test_a_frame_is_sent_in_chunks_and_reports_its_series(batch, versions, auc, monkeypatch):
    # Small chunks: the stream is built in pieces across segments, in and out of the
    # staging path (the second load repeats rows), and every row arrives exactly once.
    monkeypatch.setattr(binary, "COPY_CHUNK_ROWS", 3)
    own = versions["own"].pk
    rows = pd.concat(
        [frame(own, auc.pk, 10), frame(own, auc.pk, 7, segment="region=eu")], ignore_index=True
    )
    with transaction.atomic():
        first = loader.load_observations(batch=batch, frame=rows.sample(frac=1, random_state=3))
        again = loader.load_observations(batch=batch, frame=frame(own, auc.pk, 12))
    assert (first.loaded, first.duplicate) == (17, 0)
    assert (again.loaded, again.duplicate) == (2, 10)
    assert sorted(first.series) == [(own, auc.pk, ""), (own, auc.pk, "region=eu")]
    assert Observation.objects.filter(segment="").count() == 12
    assert list(
        Observation.objects.filter(segment="region=eu")
        .order_by("timestamp")
        .values_list("value", flat=True)
    ) == pytest.approx([0.5 + i / 10 for i in range(7)])
