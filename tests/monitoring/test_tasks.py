"""The daily expiry task."""

from __future__ import annotations

import datetime

import pytest
from django.conf import settings

from apps.monitoring.choices import ThresholdStatus
from apps.monitoring.tasks import expire_thresholds
from tests.monitoring.factories import ThresholdFactory

pytestmark = pytest.mark.django_db


def test_it_is_scheduled_daily():
    entries = [e for e in settings.CELERY_BEAT_SCHEDULE.values()]
    assert any(e["task"] == "monitoring.expire_thresholds" for e in entries)


def test_it_expires_active_thresholds_past_review_by_and_is_idempotent(owned_model, auc):
    yesterday = datetime.date.today() - datetime.timedelta(days=1)
    due = ThresholdFactory(model=owned_model, metric=auc, status="active", review_by=yesterday)
    ThresholdFactory(model=owned_model, status="draft", review_by=yesterday)
    today = ThresholdFactory(
        model=owned_model,
        metric=auc,
        segment="eu",
        status="active",
        review_by=datetime.date.today(),
    )
    assert expire_thresholds.delay().get() == [due.pk]
    assert expire_thresholds.delay().get() == []
    due.refresh_from_db()
    today.refresh_from_db()
    assert due.status == ThresholdStatus.EXPIRED and today.status == ThresholdStatus.ACTIVE


def test_the_daily_sweep_deletes_day_old_files_no_batch_or_run_refers_to(tmp_path, settings):
    import os
    import time

    from apps.monitoring.tasks import sweep_orphan_files

    settings.MEDIA_ROOT = str(tmp_path)
    assert any(
        e["task"] == "monitoring.sweep_orphan_files" for e in settings.CELERY_BEAT_SCHEDULE.values()
    )
    files = {
        "ingestion/2026/old.csv": 2 * 86400,
        "ingestion/2026/new.csv": 60,
        "drift/2026/old.csv.gz": 3 * 86400,
    }
    for name, age in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
        os.utime(path, (time.time() - age, time.time() - age))
    assert sorted(sweep_orphan_files()) == ["drift/2026/old.csv.gz", "ingestion/2026/old.csv"]
    assert [p.name for p in tmp_path.rglob("*.csv*")] == ["new.csv"]
