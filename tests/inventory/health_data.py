"""Models in each health state, built directly (the services' audit trail does not matter
to how health is read)."""

from __future__ import annotations

import datetime as dt
import itertools

from django.utils import timezone

from apps.incidents.models import Incident
from apps.monitoring.models import ThresholdState
from apps.reviews.models import Finding
from tests.factories import ModelVersionFactory, RegisteredModelFactory
from tests.monitoring.factories import MetricFactory, ThresholdFactory

_references = itertools.count(1)


def today() -> dt.date:
    return timezone.localdate()


def add_incident(model, *, serious: bool = False, status: str = "open", title: str = "Flat"):
    return Incident.objects.create(
        reference=f"INC-T-{next(_references):04d}",
        model=model,
        title=title,
        severity="sev1" if serious else "sev3",
        status=status,
        detected_at=timezone.now(),
        serious_category="health" if serious else "",
        awareness_at=timezone.now() if serious else None,
        reporting_deadline=timezone.now() + dt.timedelta(days=15) if serious else None,
    )


def add_breach(model, state: str, *, metric: str = "recall", version=None):
    version = version or ModelVersionFactory(model=model)
    threshold = ThresholdFactory(
        model=model, metric=MetricFactory(name=metric), status="active", version=version
    )
    now = timezone.now()
    ThresholdState.objects.create(
        threshold=threshold, version=version, state=state, value=0.5, since=now, evaluated_at=now
    )
    return threshold


def add_expired_threshold(model, *, metric: str = "precision", lapsed_today: bool = False):
    """An expired threshold, or (``lapsed_today``) an active one past its review-by date the
    daily task has not expired yet."""
    return ThresholdFactory(
        model=model,
        metric=MetricFactory(name=metric),
        status="active" if lapsed_today else "expired",
        review_by=today() - dt.timedelta(days=3),
    )


def add_overdue_finding(model, *, title: str = "Stale features", days: int = 5, status="open"):
    return Finding.objects.create(
        model=model,
        title=title,
        severity="high",
        description="Features drifted.",
        owner=model.owner,
        due_date=today() - dt.timedelta(days=days),
        status=status,
        created_by=model.owner,
    )


def make_overdue_review(model, *, days: int = 10):
    model.next_review_date = today() - dt.timedelta(days=days)
    model.save(update_fields=["next_review_date"])
    return model


def model_in(state: str, **kw):
    """A new model in ``state`` (one of apps.inventory.health.HealthState)."""
    model = RegisteredModelFactory(**kw)
    if state == "incident":
        add_incident(model)
    elif state == "critical":
        add_breach(model, "critical")
    elif state == "warning":
        add_breach(model, "warning")
    elif state == "expired":
        add_expired_threshold(model)
    elif state == "overdue":
        make_overdue_review(model)
    return model
