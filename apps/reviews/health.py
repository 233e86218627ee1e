"""What periodic reviews tell about a model's health (``apps/inventory/health.py``): a review
date that passed, and open findings past their due date. Registered in ``ready()``."""

from __future__ import annotations

import datetime as dt

from django.db.models import F, Q, QuerySet
from django.urls import reverse
from django.utils.formats import date_format

from apps.inventory.choices import LifecycleStatus
from apps.inventory.health import HealthState, Problem
from apps.inventory.health_facts import BANNER_ROWS, Detail, HealthFact, register_fact
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


def _describe_findings(model, rows: list[Detail], today: dt.date) -> list[Problem]:
    rows = sorted(rows, key=lambda r: r.note or "")
    problems = []
    for row in rows[:BANNER_ROWS]:
        due = date_format(dt.date.fromisoformat(row.note), "j M Y") if row.note else ""
        try:
            severity = Severity(row.level).label
        except ValueError:
            severity = row.level or ""
        problems.append(
            Problem(
                state=HealthState.OVERDUE,
                text=f"Finding “{row.label}” ({severity}) was due on {due}.",
                url=reverse("reviews:finding_detail", kwargs={"pk": int(row.ref)}),
            )
        )
    if len(rows) > BANNER_ROWS:
        problems.append(
            Problem(
                state=HealthState.OVERDUE,
                text=f"{len(rows) - BANNER_ROWS} more findings are overdue.",
                url=reverse("reviews:model_reviews", kwargs={"slug": model.slug}),
            )
        )
    return problems


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
FINDING_OVERDUE = HealthFact(
    key="finding_overdue",
    ids=lambda today: overdue_findings(today).values("model_id"),
    details=overdue_findings,
    columns=(F("pk"), F("title"), F("severity"), F("due_date")),
    describe=_describe_findings,
    summary=_summarise_findings,
)


def register_health_facts() -> None:
    register_fact(REVIEW_OVERDUE)
    register_fact(FINDING_OVERDUE)
