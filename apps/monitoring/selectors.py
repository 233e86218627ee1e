"""Reads of thresholds and metric definitions, restricted to the models the user sees."""

from __future__ import annotations

from django.db.models import Count, QuerySet
from django.http import Http404

from apps.inventory import selectors as inventory_selectors
from apps.inventory.models import RegisteredModel
from apps.monitoring.choices import ThresholdStatus
from apps.monitoring.models import MetricDefinition, Threshold


def metric_list() -> QuerySet[MetricDefinition]:
    return MetricDefinition.objects.order_by("name")


def threshold_list(*, user, model: RegisteredModel | None = None) -> QuerySet[Threshold]:
    """Thresholds of the models the user sees (of one model when given)."""
    visible = inventory_selectors.model_list(user=user).values("pk")
    qs = Threshold.objects.filter(model__in=visible)
    if model is not None:
        qs = qs.filter(model=model)
    return qs.select_related(
        "model", "version", "metric", "created_by", "supersedes", "signoff_request"
    )


def threshold_get(*, user, pk: int, model: RegisteredModel | None = None) -> Threshold:
    """The threshold, or 404 when it does not exist or its model is out of the user's reach."""
    threshold = threshold_list(user=user, model=model).filter(pk=pk).first()
    if threshold is None:
        raise Http404("No such threshold.")
    return threshold


def active_thresholds(*, model: RegisteredModel) -> QuerySet[Threshold]:
    """The thresholds monitoring evaluates: ACTIVE ones only, never drafts or expired ones."""
    return Threshold.objects.filter(model=model, status=ThresholdStatus.ACTIVE).select_related(
        "metric", "version"
    )


def active_threshold_for(threshold: Threshold) -> Threshold | None:
    """The active threshold covering the same model, version, segment and metric, if any."""
    return (
        Threshold.objects.filter(
            model_id=threshold.model_id,
            version_id=threshold.version_id,
            segment=threshold.segment,
            metric_id=threshold.metric_id,
            status=ThresholdStatus.ACTIVE,
        )
        .exclude(pk=threshold.pk)
        .select_related("metric", "version")
        .first()
    )


def expired_threshold_counts(*, user) -> dict[int, int]:
    """Expired (not yet renewed) thresholds per model id, for the models the user sees.

    One query, for the dashboard and the inventory flags.
    """
    visible = inventory_selectors.model_list(user=user).values("pk")
    rows = (
        Threshold.objects.filter(model__in=visible, status=ThresholdStatus.EXPIRED)
        .values("model_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return {row["model_id"]: row["n"] for row in rows}


def models_with_expired_thresholds(*, user) -> QuerySet[RegisteredModel]:
    """Visible models with at least one expired threshold, with ``expired_thresholds`` set."""
    return (
        inventory_selectors.model_list(user=user)
        .filter(thresholds__status=ThresholdStatus.EXPIRED)
        .annotate(expired_thresholds=Count("thresholds"))
        .order_by("name")
    )
