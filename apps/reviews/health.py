"""What periodic reviews tell about a model's health (``apps/inventory/health.py``): a review
date that passed, and open findings past their due date. Registered in ``ready()``."""

from __future__ import annotations

import datetime as dt

from django.db.models import F, Q, QuerySet
from django.urls import reverse
from django.utils.formats import date_format

from apps.inventory.choices import LifecycleStatus
from apps.inventory.health import HealthState, Problem
from apps.inventory.health_facts import (
    Detail,
    HealthFact,
    banner_problems,
    register_fact,
    rows_fact,
)
from apps.reviews.choices import FindingStatus, Severity
from apps.reviews.models import Finding


def overdue_findings(today: dt.date) -> QuerySet[Finding]:
    """Open findings past their due date (the (status, due_date) index finds them)."""
    return Finding.objects.filter(status=FindingStatus.OPEN, due_date__lt=today)


def _review_overdue(today: dt.date) -> Q:
    # Retired models are not reviewed any more (as on the reviews page and the dashboard).
    return Q(next_review_date__lt=today) & ~Q(status=LifecycleStatus.RETIRED)


def _describe_review(model, rows: list[Detail], today: dt.date) -> list[Problem]:
    days = (today - model.next_review_date).days
    return [
        Problem(
            state=HealthState.OVERDUE,
            text=f"The periodic review was due on {date_format(model.next_review_date, 'j M Y')}"
            f" ({days} day{'s' if days != 1 else ''} ago).",
            url=reverse("reviews:model_reviews", kwargs={"slug": model.slug}),
        )
    ]


def _finding_line(row: Detail) -> tuple[str, str]:
    due = date_format(dt.date.fromisoformat(row.note), "j M Y") if row.note else ""
    try:
        severity = Severity(row.level).label
    except ValueError:
        severity = row.level or ""
    text = f"Finding “{row.label}” ({severity}) was due on {due}."
    return text, reverse("reviews:finding_detail", kwargs={"pk": int(row.ref)})


def _describe_findings(model, rows: list[Detail], today: dt.date) -> list[Problem]:
    return banner_problems(
        sorted(rows, key=lambda r: r.note or ""),
        state=HealthState.OVERDUE,
        line=_finding_line,
        more="{count} more findings are overdue.",
        more_url=reverse("reviews:model_reviews", kwargs={"slug": model.slug}),
    )


def _summarise_findings(model, facts: dict[str, bool], today: dt.date) -> list[Problem]:
    return [
        Problem(
            state=HealthState.OVERDUE,
            text="An open finding is past its due date.",
            url=reverse("reviews:model_reviews", kwargs={"slug": model.slug}),
        )
    ]


REVIEW_OVERDUE = HealthFact(
    key="review_overdue", condition=_review_overdue, describe=_describe_review
)
FINDING_OVERDUE = rows_fact(
    key="finding_overdue",
    rows=overdue_findings,
    columns=(F("pk"), F("title"), F("severity"), F("due_date")),
    describe=_describe_findings,
    summary=_summarise_findings,
)


def register_health_facts() -> None:
    register_fact(REVIEW_OVERDUE)
    register_fact(FINDING_OVERDUE)
