"""The observation store: one value per series and time, and the indexes the big table needs."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, connection, transaction

from apps.monitoring.choices import BatchStatus, IngestionSource
from apps.monitoring.models import IngestionBatch, Observation
from tests.factories import ModelVersionFactory
from tests.monitoring.factories import MetricFactory

T0 = dt.datetime(2026, 11, 1, 12, tzinfo=dt.UTC)


@pytest.fixture
def batch(db, model_owner, owned_model):
    return IngestionBatch.objects.create(
        source=IngestionSource.API,
        scope_model=owned_model,
        file_format="csv",
        sha256="a" * 64,
        status=BatchStatus.SUCCEEDED,
        created_by=model_owner,
    )


@pytest.fixture
def version(owned_model):
    return ModelVersionFactory(model=owned_model)


def observe(batch, version, metric, *, segment="", at=T0, value=0.8):
    return Observation.objects.create(
        batch=batch, version=version, metric=metric, segment=segment, timestamp=at, value=value
    )


def test_it_refuses_a_second_value_for_the_same_series_and_time(batch, version):
    auc = MetricFactory(name="auc")
    observe(batch, version, auc)
    with pytest.raises(IntegrityError), transaction.atomic():
        observe(batch, version, auc, value=0.7)
    assert Observation.objects.get().value == 0.8


def test_it_keeps_segments_and_times_apart(batch, version):
    auc = MetricFactory(name="auc")
    observe(batch, version, auc)
    observe(batch, version, auc, segment="region=eu")
    observe(batch, version, auc, at=T0 + dt.timedelta(hours=1))
    assert Observation.objects.count() == 3


def test_it_refuses_a_second_live_batch_of_the_same_file_and_model(batch):
    with pytest.raises(IntegrityError), transaction.atomic():
        IngestionBatch.objects.create(
            source=IngestionSource.UPLOAD,
            scope_model=batch.scope_model,
            file_format="csv",
            sha256=batch.sha256,
            created_by=batch.created_by,
        )


def test_it_allows_the_same_file_again_after_a_failed_batch(batch):
    batch.status = BatchStatus.FAILED
    batch.save()
    IngestionBatch.objects.create(
        source=IngestionSource.UPLOAD,
        scope_model=batch.scope_model,
        file_format="csv",
        sha256=batch.sha256,
        created_by=batch.created_by,
    )


@pytest.mark.django_db
def test_it_indexes_time_with_brin_and_series_with_a_btree_on_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("BRIN indexes exist on PostgreSQL only; SQLite uses the B-tree")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'monitoring_observation'"
        )
        indexes = dict(cursor.fetchall())
    assert 'USING brin ("timestamp")' in indexes["obs_timestamp_brin"]
    # A batch's rows are found through a BRIN too: a B-tree per loaded row costs too much.
    assert "USING brin (batch_id)" in indexes["obs_batch_brin"]
    assert not [name for name, sql in indexes.items() if "btree (batch_id)" in sql]
    # The primary key is the uniqueness B-tree, leading with (version, metric, time): every
    # series read uses it. No surrogate id, so no second B-tree per row.
    primary = indexes.pop("monitoring_observation_pkey")
    assert primary.startswith("CREATE UNIQUE INDEX monitoring_observation_pkey")
    assert primary.endswith('USING btree (version_id, metric_id, "timestamp", segment)')
    assert sorted(indexes) == ["obs_batch_brin", "obs_timestamp_brin"]
    # No per-row foreign-key triggers on the big table: the loader checks references once.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_constraint "
            "WHERE conrelid = 'monitoring_observation'::regclass AND contype = 'f'"
        )
        assert cursor.fetchone()[0] == 0
