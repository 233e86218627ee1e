"""Judgements on the model at T: its periodic reviews, their findings and its risk assessments
with the validator's tier proposal standing then (the snapshot's ``reviews``, ``findings`` and
``risk_assessments``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from apps.inventory.choices import RiskAssessmentStatus
from apps.inventory.models import RiskAssessment
from apps.reports.batch import Part
from apps.reports.history import Record
from apps.reports.snapshot.context import Context
from apps.reports.snapshot.values import iso, label, text
from apps.reviews.choices import FindingStatus, ReviewOutcome, ReviewStatus
from apps.reviews.choices import Severity as FindingSeverity
from apps.reviews.models import Finding, Review

REVIEW_FIELDS = (
    "reviewer",
    "scope",
    "status",
    "outcome",
    "due_date",
    "reviewed_on",
    "submitted_at",
    "attested_at",
)
FINDING_FIELDS = ("title", "severity", "status", "owner", "due_date", "description")
ASSESSMENT_FIELDS = (
    "assessed_at",
    "assessed_by",
    "eu_ai_act_class",
    "suggested_tier",
    "points",
    "status",
    "decided_tier",
    "decided_at",
    "decision_reason",
)


def reads(ctx: Context) -> dict[str, Part]:
    """The model's reviews, findings and risk assessments, today."""
    return {
        "reviews": ctx.part(Review.objects.filter(model=ctx.model), REVIEW_FIELDS),
        "findings": ctx.part(Finding.objects.filter(model=ctx.model), FINDING_FIELDS),
        "risk_assessments": ctx.part(
            RiskAssessment.objects.filter(model=ctx.model), ASSESSMENT_FIELDS
        ),
    }


def reviews(ctx: Context) -> list[dict[str, Any]]:
    records = ctx.records(
        Review.objects.filter(model=ctx.model), REVIEW_FIELDS, rows=ctx.rows["reviews"]
    )
    records.sort(key=lambda r: (r.born or ctx.moment, r.pk), reverse=True)
    result = []
    for r in records:
        v = r.values
        reviewed_on = v["reviewed_on"]
        # Submitting stamps ``reviewed_on`` (when empty) without recording it: before the
        # first submission the recorded value is the one that stood.
        submitted = any(
            e.occurred_at <= ctx.moment
            and (e.changes.get("status") or {}).get("after") == ReviewStatus.SUBMITTED
            for e in r.events
        )
        if not submitted:
            event, recorded = r.recorded("reviewed_on", ctx.moment)
            if event is not None:
                reviewed_on = Review._meta.get_field("reviewed_on").to_python(recorded)
        result.append(
            {
                "id": r.pk,
                "reviewer": ctx.people(v["reviewer_id"]),
                "scope": text(v["scope"]),
                "status": v["status"],
                "status_label": label(ReviewStatus, v["status"]),
                "outcome": v["outcome"] or "",
                "outcome_label": label(ReviewOutcome, v["outcome"]),
                "due_date": iso(v["due_date"]),
                "reviewed_on": iso(reviewed_on),
                "attested_at": iso(v["attested_at"]),
            }
        )
    return result


def findings(ctx: Context) -> list[dict[str, Any]]:
    records = ctx.records(
        Finding.objects.filter(model=ctx.model), FINDING_FIELDS, rows=ctx.rows["findings"]
    )
    records.sort(key=lambda r: (r.values["due_date"] or dt.date.max, r.pk))
    return [
        {
            "id": r.pk,
            "title": text(r.values["title"]),
            "severity": r.values["severity"],
            "severity_label": label(FindingSeverity, r.values["severity"]),
            "status": r.values["status"],
            "status_label": label(FindingStatus, r.values["status"]),
            "owner": ctx.people(r.values["owner_id"]),
            "due_date": iso(r.values["due_date"]),
            "description": text(r.values["description"]),
        }
        for r in records
    ]


def risk_assessments(ctx: Context) -> list[dict[str, Any]]:
    records = ctx.records(
        RiskAssessment.objects.filter(model=ctx.model),
        ASSESSMENT_FIELDS,
        rows=ctx.rows["risk_assessments"],
    )
    records.sort(key=lambda r: (r.values["assessed_at"] or ctx.moment, r.pk), reverse=True)
    result = []
    for r in records:
        v = r.values
        tier, decided_at, reason = _proposal_at(r, ctx.moment)
        result.append(
            {
                "assessed_at": iso(v["assessed_at"]),
                "assessed_by": ctx.people(v["assessed_by_id"]),
                "eu_ai_act_class": v["eu_ai_act_class"],
                "suggested_tier": v["suggested_tier"],
                "points": v["points"],
                "status": v["status"],
                "decided_tier": tier,
                "decided_at": iso(decided_at),
                "decision_reason": reason,
            }
        )
    return result


def _proposal_at(record: Record, moment: dt.datetime) -> tuple[int | None, Any, str]:
    """The validator's tier proposal standing at T: (tier, when, reason).

    The proposal's audit event records the tier (its message the reason, its time the
    moment); sending a proposal back clears the proposal without recording what it held.
    """
    v = record.values
    if v["status"] in (RiskAssessmentStatus.PENDING, None):
        return None, None, ""
    event, tier = record.recorded("decided_tier", moment)
    if event is None:  # no proposal recorded (rows made without the services)
        return v["decided_tier"], v["decided_at"], text(v["decision_reason"])
    marker = " proposed: "
    reason = event.message.split(marker, 1)[1] if marker in event.message else ""
    return tier, event.occurred_at, reason
