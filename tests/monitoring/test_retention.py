"""Observation retention: refused below six months, nothing while unset, older observations
deleted in bounded batches, each run audited as one event (count and cut-off)."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.monitoring.choices import BatchStatus, IngestionSource
from apps.monitoring.models import IngestionBatch, Observation
from apps.monitoring.retention import observations_purge, retention_cutoff
from apps.monitoring.retention_tasks import purge_observations
from tests.factories import ModelVersionFactory
from tests.monitoring.factories import MetricFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def store(owned_model, model_owner, admin_user):
    """Observations one a day, from 400 days ago to yesterday (ages 400 … 1 days)."""
    version = ModelVersionFactory(model=owned_model, version="1.0.0")
    metric = MetricFactory(name="auc", direction="higher_is_better", created_by=admin_user)
    batch = IngestionBatch.objects.create(
        source=IngestionSource.API,
        scope_model=owned_model,
        file_format="csv",
        file_name="m.csv",
        sha256=hashlib.sha256(b"retention").hexdigest(),
        status=BatchStatus.SUCCEEDED,
        created_by=model_owner,
    )
    now = timezone.now()
    Observation.objects.bulk_create(
        Observation(
            version=version,
            metric=metric,
            timestamp=now - dt.timedelta(days=age, minutes=1),
            value=0.8,
            batch=batch,
        )
        for age in range(1, 401)
    )
    return now


def purge_events():
    return AuditEvent.objects.filter(object_type="monitoring.observation", object_id="retention")


@pytest.mark.parametrize("days", [0, 30, 182])
def test_a_cutoff_below_six_months_is_refused(days):
    with pytest.raises(ImproperlyConfigured, match="legal minimum of 183 days"):
        retention_cutoff(days=days)


def test_nothing_is_deleted_while_retention_is_unset(store, settings):
    settings.MLGOV_OBSERVATION_RETENTION_DAYS = None
    assert observations_purge() is None
    assert purge_task_result() is None
    assert Observation.objects.count() == 400 and not purge_events().exists()


def purge_task_result():
    return purge_observations.apply().get()


def test_older_observations_go_in_bounded_batches_audited_as_one_event(store, settings):
    settings.MLGOV_OBSERVATION_RETENTION_DAYS = 365
    result = observations_purge(batch_size=10)
    # Ages 365 … 400 days (each a minute past its day): 36 rows, in batches of at most 10.
    assert result.deleted == 36 and result.batches == 4 and result.complete
    oldest = Observation.objects.order_by("timestamp").first().timestamp
    assert oldest >= result.cutoff and Observation.objects.count() == 364
    (event,) = purge_events()
    assert event.action == AuditEvent.Action.DELETE and event.actor is None
    assert event.changes["deleted"] == 36 and event.changes["retention_days"] == 365
    assert event.changes["cutoff"] == result.cutoff.isoformat()
    assert abs(result.cutoff - (store - dt.timedelta(days=365))) < dt.timedelta(minutes=1)


def test_a_run_out_of_time_stops_after_a_batch_and_the_next_goes_on(store, settings):
    settings.MLGOV_OBSERVATION_RETENTION_DAYS = 200
    first = observations_purge(batch_size=50, max_seconds=0)
    assert (first.deleted, first.complete) == (50, False)
    second = observations_purge(batch_size=500)
    assert (second.deleted, second.complete) == (151, True)
    assert Observation.objects.count() == 199
    assert [e.changes["deleted"] for e in purge_events().order_by("sequence")] == [50, 151]
    assert "stopped before the end" in purge_events().order_by("sequence").first().message


def test_the_beat_task_purges_with_the_setting(store, settings):
    settings.MLGOV_OBSERVATION_RETENTION_DAYS = 183
    outcome = purge_task_result()
    assert outcome["deleted"] == 218 and Observation.objects.count() == 182
    assert purge_events().count() == 1
    assert "purge-observations-daily" in settings.CELERY_BEAT_SCHEDULE
