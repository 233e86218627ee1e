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
