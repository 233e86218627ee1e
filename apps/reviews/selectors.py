"""Reads of reviews and findings, restricted to the models the user sees."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from apps.approvals.choices import ApprovalKind, RequestStatus
from apps.approvals.models import ApprovalRequest
from apps.inventory.choices import LifecycleStatus
from apps.inventory.models import RegisteredModel
from apps.inventory.selectors import model_list, visible_through
from apps.reviews import schedule
from apps.reviews.choices import FindingStatus
from apps.reviews.models import Finding, Review, ReviewCadence


def review_list(*, user, model: RegisteredModel | None = None) -> QuerySet[Review]:
    qs = Review.objects.filter(visible_through(user))
    if model is not None:
        qs = qs.filter(model=model)
    return qs.select_related("model", "reviewer", "created_by")


def review_get(*, user, pk: int) -> Review:
    obj = review_list(user=user).filter(pk=pk).first()
    if obj is None:
        raise Http404("No such review.")
    return obj


def finding_list(
    *, user, model: RegisteredModel | None = None, overdue_only: bool = False, today=None
) -> QuerySet[Finding]:
    qs = Finding.objects.filter(visible_through(user))
    if model is not None:
        qs = qs.filter(model=model)
    if overdue_only:
        qs = qs.filter(status=FindingStatus.OPEN, due_date__lt=today or timezone.localdate())
    return qs.select_related("model", "review", "owner", "created_by")


def finding_get(*, user, pk: int) -> Finding:
    obj = finding_list(user=user).filter(pk=pk).first()
    if obj is None:
        raise Http404("No such finding.")
    return obj


def overdue_finding_count(*, user, model: RegisteredModel | None = None, today=None) -> int:
    """Open findings past their due date, for the model page and the dashboard."""
    return finding_list(user=user, model=model, overdue_only=True, today=today).count()


#: Models listed under "overdue and due" on the reviews page; the rest are counted, with a link
#: to the inventory filtered to them (a bank may have hundreds overdue at once).
DUE_SHOWN = 20


def reviews_due(*, user, today: dt.date | None = None) -> dict:
    """Models whose review is overdue, or due within the first reminder window: the first
    ``DUE_SHOWN`` by due date (overdue first) and how many of each there are (two queries,
    whatever the inventory holds). ``{"overdue": [...], "due": [...], "overdue_total": n,
    "due_total": n, "until": date}``."""
    today = today or timezone.localdate()
    horizon = today + dt.timedelta(days=schedule.REMINDER_DAYS[0])
    models = (
        model_list(user=user)
        .exclude(status=LifecycleStatus.RETIRED)
        .filter(next_review_date__lte=horizon)
    )
    totals = models.aggregate(
        overdue_total=Count("pk", filter=Q(next_review_date__lt=today)),
        due_total=Count("pk", filter=Q(next_review_date__gte=today)),
    )
    out: dict = {schedule.OVERDUE: [], schedule.DUE: [], **totals, "until": horizon}
    shown = (
        models.select_related(None)
        .order_by("next_review_date", "name")
        .only("slug", "name", "next_review_date")[:DUE_SHOWN]
    )
    for m in shown:
        out[schedule.review_state(m.next_review_date, today)].append(m)
    return out


def attestation_requests(*, reviews: list[Review]) -> dict[str, ApprovalRequest]:
    """The latest attestation request per review id (one query for a page of reviews)."""
    ids = [str(r.pk) for r in reviews]
    latest: dict[str, ApprovalRequest] = {}
    qs = ApprovalRequest.objects.filter(
        kind=ApprovalKind.REVIEW_ATTESTATION, subject_type="reviews.review", subject_id__in=ids
    ).order_by("requested_at")
    for request in qs:
        latest[request.subject_id] = request
    return latest


def pending_risk_acceptance(*, finding: Finding) -> ApprovalRequest | None:
    return ApprovalRequest.objects.filter(
        kind=ApprovalKind.RISK_ACCEPTANCE,
        subject_type="reviews.finding",
        subject_id=str(finding.pk),
        status=RequestStatus.PENDING,
    ).first()


def cadence_table() -> list[dict]:
    """Months between reviews per tier, stored or default."""
    stored = {c.tier: c for c in ReviewCadence.objects.all()}
    return [
        {
            "tier": tier,
            "months": stored[tier].months if tier in stored else months,
            "cadence": stored.get(tier),
        }
        for tier, months in schedule.DEFAULT_CADENCE_MONTHS.items()
    ]
