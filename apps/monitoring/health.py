"""What monitoring tells about a model's health (``apps/inventory/health.py``): an active
threshold in critical or warning, and thresholds that expired. Registered in ``ready()``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.db.models import F, Q, QuerySet
from django.urls import reverse
from django.utils.formats import date_format

from apps.inventory.health import HealthState, Problem
from apps.inventory.health_facts import (
    Detail,
    HealthFact,
    banner_problems,
    register_fact,
    rows_fact,
)
from apps.monitoring.choices import EvaluationState, ThresholdStatus
from apps.monitoring.models import Threshold, ThresholdState


def _states_in(state: str) -> Callable[[dt.date], QuerySet]:
    def rows(today: dt.date) -> QuerySet:
        # The state index finds the few states in breach; the join keeps active thresholds.
        return ThresholdState.objects.filter(state=state, threshold__status=ThresholdStatus.ACTIVE)

    return rows


def _expired(today: dt.date) -> QuerySet:
    """Expired thresholds, and active ones whose review-by date passed today (the daily task
    that expires them has not run yet): either way they no longer apply."""
    return Threshold.objects.filter(
        Q(status=ThresholdStatus.EXPIRED) | Q(status=ThresholdStatus.ACTIVE, review_by__lt=today)
    )


def _threshold_url(model, ref: str | None) -> str:
    return reverse("monitoring:threshold_detail", kwargs={"slug": model.slug, "pk": int(ref)})


def _describe_breaches(state: str):
    word = "critical" if state == EvaluationState.CRITICAL else "in warning"
    health = HealthState.CRITICAL if state == EvaluationState.CRITICAL else HealthState.WARNING

    def describe(model, rows: list[Detail], today: dt.date) -> list[Problem]:
        return banner_problems(
            rows,
            state=health,
            line=lambda row: (
                f"The {row.label} threshold is {word} on version {row.note}.",
                _threshold_url(model, row.ref),
            ),
            more=f"{{count}} more thresholds are {word}.",
            more_url=reverse("monitoring:model_monitoring", kwargs={"slug": model.slug}),
        )

    return describe


def _expired_line(model, row: Detail) -> tuple[str, str]:
    when = date_format(dt.date.fromisoformat(row.note), "j M Y") if row.note else ""
    text = (
        f"The {row.label} threshold expired after {when} and no longer applies: "
        "revise it and have it signed off again."
    )
    return text, _threshold_url(model, row.ref)


def _describe_expired(model, rows: list[Detail], today: dt.date) -> list[Problem]:
    return banner_problems(
        rows,
        state=HealthState.EXPIRED,
        line=lambda row: _expired_line(model, row),
        more="{count} more thresholds expired.",
        more_url=reverse("monitoring:threshold_list", kwargs={"slug": model.slug}),
    )


def _summarise_breaches(state: str):
    health = HealthState.CRITICAL if state == EvaluationState.CRITICAL else HealthState.WARNING
    word = "critical" if state == EvaluationState.CRITICAL else "in warning"

    def summary(model, facts: dict[str, bool], today: dt.date) -> list[Problem]:
        url = reverse("monitoring:model_monitoring", kwargs={"slug": model.slug})
        return [Problem(state=health, text=f"A signed threshold is {word}.", url=url)]

    return summary


def _summarise_expired(model, facts: dict[str, bool], today: dt.date) -> list[Problem]:
    return [
        Problem(
            state=HealthState.EXPIRED,
            text="A threshold passed its review-by date and no longer applies: revise it and "
            "have it signed off again.",
            url=reverse("monitoring:threshold_list", kwargs={"slug": model.slug}),
        )
    ]


def _breach_fact(key: str, state: str) -> HealthFact:
    return rows_fact(
        key=key,
        rows=_states_in(state),
        model_field="threshold__model",
        columns=(
            F("threshold_id"),
            F("threshold__metric__name"),
            F("state"),
            F("version__version"),
        ),
        describe=_describe_breaches(state),
        summary=_summarise_breaches(state),
    )


CRITICAL_BREACH = _breach_fact("critical_breach", EvaluationState.CRITICAL)
WARNING_BREACH = _breach_fact("warning_breach", EvaluationState.WARNING)
THRESHOLD_EXPIRED = rows_fact(
    key="threshold_expired",
    rows=_expired,
    columns=(F("pk"), F("metric__name"), F("status"), F("review_by")),
    describe=_describe_expired,
    summary=_summarise_expired,
)


def register_health_facts() -> None:
    for fact in (CRITICAL_BREACH, WARNING_BREACH, THRESHOLD_EXPIRED):
        register_fact(fact)
