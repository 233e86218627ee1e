"""Reads of evaluation results, restricted to the models the user sees."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from apps.inventory.models import RegisteredModel
from apps.inventory.selectors import model_list
from apps.monitoring.choices import EvaluationState, ThresholdStatus

IN_BREACH = (EvaluationState.WARNING, EvaluationState.CRITICAL)


def _breaching(state: str) -> Q:
    return Q(
        thresholds__status=ThresholdStatus.ACTIVE,
        thresholds__states__state=state,
    )


def models_in_breach(*, user) -> QuerySet[RegisteredModel]:
    """Visible models with an active threshold in warning or critical for some version,
    with ``critical_count`` and ``warning_count`` (threshold-version pairs), worst first.

    One query.
    """
    return (
        model_list(user=user)
        .annotate(
            critical_count=Count("thresholds__states", filter=_breaching("critical")),
            warning_count=Count("thresholds__states", filter=_breaching("warning")),
        )
        .filter(Q(critical_count__gt=0) | Q(warning_count__gt=0))
        .order_by("-critical_count", "-warning_count", "name")
    )
