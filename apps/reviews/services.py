"""Every write of periodic reviews and findings. Keyword-only, atomic, audited.

Attestation of a review and acceptance of a finding's risk are sign-offs: they go through
the approval engine (see ``apps.reviews.approvals``), never a direct status change.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from apps.approvals.choices import ApprovalKind
from apps.approvals.models import ApprovalRequest
from apps.approvals.services import approval_request_create, approval_requests_invalidate
from apps.audit import diff
from apps.audit.models import AuditEvent
from apps.audit.services import audit_record, audited_update
from apps.core import clock, roles
from apps.core.errors import ApplicationError
from apps.core.services import reject_unknown_fields, require_perm, validate_instance
from apps.inventory.choices import LifecycleStatus
from apps.inventory.models import RegisteredModel
from apps.inventory.selectors import people_who_may_act
from apps.inventory.services import model_set_next_review
from apps.notifications.choices import Event
from apps.notifications.services import notify
from apps.reviews import schedule
from apps.reviews.choices import FindingStatus, ReminderKind, ReviewStatus
from apps.reviews.models import Finding, ReminderLog, Review, ReviewCadence

REVIEW_EDITABLE_FIELDS = ("reviewer", "scope", "outcome", "notes", "due_date", "reviewed_on")
REVIEW_AUDITED_FIELDS = ("model", *REVIEW_EDITABLE_FIELDS, "status", "submitted_at", "attested_at")
FINDING_EDITABLE_FIELDS = (
    "title",
    "severity",
    "description",
    "owner",
    "due_date",
    "evidence",
    "evidence_links",
)
# What a finding's owner (not a validator) may change: the remediation evidence.
FINDING_OWNER_FIELDS = ("evidence", "evidence_links")
FINDING_AUDITED_FIELDS = ("model", "review", *FINDING_EDITABLE_FIELDS, "status")


def _refuse(message: str, field: str | None = None) -> ApplicationError:
    return ApplicationError(message, field_errors={field: [message]} if field else None)


def _is_oversight(user) -> bool:
    return roles.has_role(user, roles.ADMIN, roles.VALIDATOR)


# --- cadence -----------------------------------------------------------------------------


def cadence_months(tier: int | None) -> int:
    """Months between reviews for a tier; unassessed models are reviewed like Tier 1."""
    tier = tier if tier in schedule.DEFAULT_CADENCE_MONTHS else 1
    stored = ReviewCadence.objects.filter(tier=tier).values_list("months", flat=True).first()
    return stored or schedule.DEFAULT_CADENCE_MONTHS[tier]


@transaction.atomic
def review_cadence_update(*, actor, cadence: ReviewCadence, months: int) -> ReviewCadence:
    """Change how often a tier is reviewed. Dates already set stay; each model's next
    attested review uses the new cadence."""
    require_perm(actor, "reviews.change_reviewcadence", cadence)
    cadence, _ = audited_update(
        cadence, actor=actor, data={"months": months, "updated_by": actor}, fields=("months",)
    )
    return cadence


@transaction.atomic
def model_schedule_next_review(
    *, actor, model: RegisteredModel, from_date: dt.date, reason: str = ""
) -> RegisteredModel:
    """Set the model's next review ``from_date`` + its tier's cadence."""
    due = schedule.next_review_date(from_date, cadence_months(model.risk_tier))
    return model_set_next_review(
        actor=actor,
        model=model,
        next_review_date=due,
        reason=reason or f"Next review {cadence_months(model.risk_tier)} months after {from_date}.",
    )


# --- reviews -----------------------------------------------------------------------------


def _check_reviewer(reviewer) -> None:
    if reviewer is None or not _is_oversight(reviewer):
        raise _refuse("The reviewer must be a validator or an administrator.", "reviewer")


def _review_snapshot(review: Review) -> dict[str, Any]:
    return diff.snapshot(review, REVIEW_AUDITED_FIELDS)


@transaction.atomic
def review_create(
    *, actor, model: RegisteredModel, reviewer=None, scope: str, **data: Any
) -> Review:
    """Open a periodic review of ``model``; it answers the model's current review date."""
    require_perm(actor, "reviews.add_review", model)
    reject_unknown_fields(data, REVIEW_EDITABLE_FIELDS)
    reviewer = reviewer or actor
    _check_reviewer(reviewer)
    if model.status == LifecycleStatus.RETIRED:
        raise _refuse(f"{model} is retired; retired models are not reviewed.")
    data.setdefault("due_date", model.next_review_date)
    review = Review(model=model, reviewer=reviewer, scope=scope, created_by=actor, **data)
    validate_instance(review, exclude=["created_by"])
    review.save()
    audit_record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        obj=review,
        model_ref=model.pk,
        changes=diff.created(_review_snapshot(review)),
    )
    return review


@transaction.atomic
def review_update(*, actor, review: Review, **data: Any) -> Review:
    """Edit an open (or returned) review; a submitted or attested one is fixed."""
    review = (
        Review.objects.select_for_update(of=("self",)).select_related("model").get(pk=review.pk)
    )
    require_perm(actor, "reviews.change_review", review)
    reject_unknown_fields(data, REVIEW_EDITABLE_FIELDS)
    if not review.is_editable:
        raise _refuse(f"This review is {review.get_status_display().lower()}; it can't change.")
    review, _ = audited_update(
        review,
        actor=actor,
        data=data,
        fields=REVIEW_AUDITED_FIELDS,
        model_ref=review.model_id,
        check=(lambda _, review: _check_reviewer(review.reviewer)) if "reviewer" in data else None,
        lock=False,
    )
    return review


@transaction.atomic
def review_submit(*, actor, review: Review, justification: str = "") -> ApprovalRequest:
    """Submit a completed review for attestation (an approval request)."""
    review = (
        Review.objects.select_for_update(of=("self",)).select_related("model").get(pk=review.pk)
    )
    require_perm(actor, "reviews.submit_review", review)
    if not review.is_editable:
        raise _refuse(f"This review is {review.get_status_display().lower()} already.")
    if not review.outcome:
        raise _refuse("Record the outcome before submitting the review.", "outcome")
    if not review.notes.strip():
        raise _refuse("Write the review notes before submitting it.", "notes")
    _set_review_status(
        review,
        actor=actor,
        data={
            "status": ReviewStatus.SUBMITTED,
            "submitted_at": clock.now(),
            "reviewed_on": review.reviewed_on or timezone.localdate(),
        },
    )
    return approval_request_create(
        actor=actor,
        kind=ApprovalKind.REVIEW_ATTESTATION,
        subject=review,
        justification=justification,
    )


def review_attest(*, actor, review: Review, request) -> Review:
    """The attestation's effect (quorum met): the review counts, the next one is scheduled.

    Called by the approval engine inside its transaction.
    """
    now = clock.now()
    _set_review_status(
        review,
        actor=actor,
        data={"status": ReviewStatus.ATTESTED, "attested_at": now},
        message=f"Attested (request #{request.pk}).",
    )
    model_schedule_next_review(
        actor=actor,
        model=review.model,
        from_date=timezone.localdate(now),
        reason=f"Periodic review #{review.pk} attested (request #{request.pk}).",
    )
    return review


def review_return(*, actor, review: Review, request) -> Review:
    """Attestation refused or changes requested: the review goes back to its reviewer."""
    _set_review_status(
        review, actor=actor, data={"status": ReviewStatus.REJECTED}, message=request.closing_note
    )
    return review


def _set_review_status(review: Review, *, actor, data: dict[str, Any], message: str = "") -> None:
    """Move a review (``data``: its status and the stamps that go with it), recorded as a
    status change."""
    audited_update(
        review,
        actor=actor,
        data=data,
        fields=("status",),
        model_ref=review.model_id,
        action=AuditEvent.Action.TRANSITION,
        message=message,
        validate=False,
        lock=False,
        update_fields=list(data),
    )


# --- findings ----------------------------------------------------------------------------


def _finding_snapshot(finding: Finding) -> dict[str, Any]:
    return diff.snapshot(finding, FINDING_AUDITED_FIELDS)


def _check_owner(owner, model: RegisteredModel) -> None:
    """A finding is owned by someone who may act on the model (``people_who_may_act``):
    never an auditor or viewer, nor the owner of another model."""
    if owner is None or not roles.roles_of(owner):
        raise _refuse("The owner must be an mlgov user.", "owner")
    if not people_who_may_act(model=model).filter(pk=owner.pk).exists():
        raise _refuse(
            f"{owner} cannot remediate findings on this model: choose its owner, a developer "
            "or its business owner, a validator or an administrator.",
            "owner",
        )


@transaction.atomic
def finding_create(
    *, actor, model: RegisteredModel, review: Review | None = None, **data: Any
) -> Finding:
    """Record a finding on ``model`` (optionally raised by one of its reviews)."""
    require_perm(actor, "reviews.add_finding", model)
    reject_unknown_fields(data, FINDING_EDITABLE_FIELDS)
    if review is not None and review.model_id != model.pk:
        raise _refuse("That review is of another model.", "review")
    _check_owner(data.get("owner"), model)
    finding = Finding(
        model=model, review=review, created_by=actor, status_changed_at=clock.now(), **data
    )
    return _save_new_finding(finding, actor=actor)


def _save_new_finding(finding: Finding, *, actor, message: str = "") -> Finding:
    validate_instance(finding, exclude=["created_by"])
    finding.save()
    audit_record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        obj=finding,
        model_ref=finding.model_id,
        changes=diff.created(_finding_snapshot(finding)),
        message=message,
    )
    return finding


#: Days an integrity finding (raised by mlgov itself) is due in.
INTEGRITY_FINDING_DAYS = 14


@transaction.atomic
def finding_raise_for_integrity(
    *, actor, model: RegisteredModel, title: str, description: str, severity: str
) -> Finding:
    """Record a finding that mlgov's own checks raise (e.g. an integration seeing that an
    approved version's artifact changed at its source), not a reviewer's judgement: so it
    needs no validator's permission, only an ``actor`` (the integration's service user) that
    sees the model. Owned by the model's validator, or its owner when it has none; due in
    ``INTEGRITY_FINDING_DAYS``; audited like any finding."""
    require_perm(actor, "inventory.view_registeredmodel", model)
    owner = model.validator or model.owner
    finding = Finding(
        model=model,
        title=title[:200],
        severity=severity,
        description=description,
        owner=owner,
        due_date=timezone.localdate() + dt.timedelta(days=INTEGRITY_FINDING_DAYS),
        created_by=actor,
        status_changed_at=clock.now(),
    )
    return _save_new_finding(finding, actor=actor, message="Raised by an integrity check.")


@transaction.atomic
def finding_update(*, actor, finding: Finding, **data: Any) -> Finding:
    """Validators edit any field; the finding's owner adds remediation evidence."""
    finding = (
        Finding.objects.select_for_update(of=("self",)).select_related("model").get(pk=finding.pk)
    )
    require_perm(actor, "reviews.change_finding", finding)
    allowed = FINDING_EDITABLE_FIELDS if _is_oversight(actor) else FINDING_OWNER_FIELDS
    reject_unknown_fields(data, allowed)
    finding, changes = audited_update(
        finding,
        actor=actor,
        data=data,
        fields=FINDING_AUDITED_FIELDS,
        model_ref=finding.model_id,
        check=(lambda _, finding: _check_owner(finding.owner, finding.model))
        if "owner" in data
        else None,
        lock=False,
    )
    if changes:
        approval_requests_invalidate(actor=actor, subject=finding)
    return finding


# (from, to) -> who may: "owner" (the finding's owner or oversight) or "oversight" only.
FINDING_MOVES = {
    (FindingStatus.OPEN, FindingStatus.REMEDIATED): "owner",
    (FindingStatus.REMEDIATED, FindingStatus.CLOSED): "oversight",
    (FindingStatus.REMEDIATED, FindingStatus.OPEN): "oversight",
    (FindingStatus.OPEN, FindingStatus.CLOSED): "oversight",
    (FindingStatus.CLOSED, FindingStatus.OPEN): "oversight",
    (FindingStatus.RISK_ACCEPTED, FindingStatus.OPEN): "oversight",
}


@transaction.atomic
def finding_set_status(*, actor, finding: Finding, status: str, note: str = "") -> Finding:
    """Move a finding: the owner marks it remediated (with evidence); validators close or
    reopen it. Risk acceptance needs an approval (``finding_request_risk_acceptance``)."""
    finding = (
        Finding.objects.select_for_update(of=("self",)).select_related("model").get(pk=finding.pk)
    )
    require_perm(actor, "reviews.change_finding", finding)
    if status == FindingStatus.RISK_ACCEPTED:
        raise _refuse(
            "Accepting a finding's risk needs approval; request a risk acceptance.", "status"
        )
    who = FINDING_MOVES.get((finding.status, status))
    if who is None:
        raise _refuse(
            f"A finding cannot go from {finding.get_status_display().lower()} to "
            f"{FindingStatus(status).label.lower() if status in FindingStatus.values else status}.",
            "status",
        )
    if who == "oversight" and not _is_oversight(actor):
        raise _refuse("Only a validator can close or reopen a finding.", "status")
    if status == FindingStatus.REMEDIATED and not (finding.evidence.strip() or finding.links):
        raise _refuse("Describe or link the remediation evidence first.", "evidence")
    if status == FindingStatus.OPEN and not note.strip():
        raise _refuse("Say why the finding is reopened.", "note")
    _set_finding_status(finding, actor=actor, status=status, message=note.strip())
    approval_requests_invalidate(actor=actor, subject=finding)
    return finding


def finding_request_risk_acceptance(
    *, actor, finding: Finding, justification: str
) -> ApprovalRequest:
    """Ask the business owner and a validator to accept the finding's risk instead of fixing it."""
    require_perm(actor, "reviews.request_risk_acceptance_finding", finding)
    return approval_request_create(
        actor=actor,
        kind=ApprovalKind.RISK_ACCEPTANCE,
        subject=finding,
        justification=justification,
    )


def finding_accept_risk(*, actor, finding: Finding, request) -> Finding:
    """The risk acceptance's effect, applied by the approval engine once approved."""
    _set_finding_status(
        finding,
        actor=actor,
        status=FindingStatus.RISK_ACCEPTED,
        message=f"Risk accepted (request #{request.pk}): {request.justification}",
    )
    return finding


def _set_finding_status(finding: Finding, *, actor, status: str, message: str) -> None:
    audited_update(
        finding,
        actor=actor,
        data={"status": status, "status_changed_at": clock.now()},
        fields=("status",),
        model_ref=finding.model_id,
        action=AuditEvent.Action.TRANSITION,
        message=message,
        validate=False,
        lock=False,
        update_fields=["status", "status_changed_at", "updated_at"],
    )


# --- the daily scan ----------------------------------------------------------------------


def _admins():
    return list(get_user_model().objects.filter(groups__name=roles.ADMIN, is_active=True))


def _log_once(**fields: Any) -> ReminderLog | None:
    """Record a reminder step; None when it was already recorded (sent before)."""
    try:
        with transaction.atomic():
            log, created = ReminderLog.objects.get_or_create(**fields)
    except IntegrityError:  # a concurrent scan logged it first
        return None
    return log if created else None


def _review_step(*, model: RegisteredModel, today: dt.date, admins: list) -> str | None:
    due = model.next_review_date
    left = schedule.days_until(due, today)
    step = schedule.step_for(left)
    if step is None:
        return None
    kind = ReminderKind.REVIEW_ESCALATION if step.escalation else ReminderKind.REVIEW_REMINDER
    with transaction.atomic():
        log = _log_once(
            model=model, finding=None, kind=kind, due_date=due, threshold=step.threshold
        )
        if log is None:
            return None
        if step.escalation:
            event = Event.REVIEW_OVERDUE
            text = f"Periodic review of {model.name} is {-left} day(s) overdue (due {due})."
            recipients = [model.validator, model.business_owner, *admins]
        else:
            event = Event.REVIEW_DUE
            when = "today" if left == 0 else f"in {left} day(s)"
            text = f"Periodic review of {model.name} is due {when} ({due})."
            recipients = [model.owner, model.business_owner, model.validator]
        audit_record(
            actor=None,
            action=AuditEvent.Action.CREATE,
            obj=log,
            model_ref=model.pk,
            changes={"reminder": {"before": None, "after": f"{kind}:{step.threshold}"}},
            message=text,
        )
        notify(
            recipients=recipients,
            event=event,
            subject_text=text,
            link=reverse("reviews:model_reviews", kwargs={"slug": model.slug}),
            payload={"model": model.slug, "due_date": due, "days_left": left},
        )
    return event


def _finding_step(*, finding: Finding, today: dt.date) -> bool:
    left = schedule.days_until(finding.due_date, today)
    step = schedule.escalation_step(left)
    if step is None:
        return False
    model = finding.model
    with transaction.atomic():
        log = _log_once(
            model=model,
            finding=finding,
            kind=ReminderKind.FINDING_OVERDUE,
            due_date=finding.due_date,
            threshold=step.threshold,
        )
        if log is None:
            return False
        text = (
            f"Finding \u201c{finding.title}\u201d on {model.name} ({finding.get_severity_display()}"
            f") is {-left} day(s) overdue (due {finding.due_date})."
        )
        audit_record(
            actor=None,
            action=AuditEvent.Action.CREATE,
            obj=log,
            model_ref=model.pk,
            changes={"reminder": {"before": None, "after": f"finding_overdue:{step.threshold}"}},
            message=text,
        )
        notify(
            recipients=[finding.owner, model.validator, model.business_owner],
            event=Event.FINDING_OVERDUE,
            subject_text=text,
            link=finding.get_absolute_url(),
            payload={"model": model.slug, "finding": finding.pk, "due_date": finding.due_date},
        )
    return True


def reviews_scan(*, today: dt.date | None = None) -> dict[str, int]:
    """Send the reminders and escalations due today; each is logged so none goes twice.

    One transaction per model or finding, so one failure does not hold back the rest and
    e-mails and webhooks leave as each commits.
    """
    today = today or timezone.localdate()
    counts = {"review.due": 0, "review.overdue": 0, "finding.overdue": 0}
    admins = _admins()
    models = (
        RegisteredModel.objects.exclude(status=LifecycleStatus.RETIRED)
        .filter(next_review_date__isnull=False)
        .select_related("owner", "business_owner", "validator")
        .order_by("pk")
    )
    for model in models:
        event = _review_step(model=model, today=today, admins=admins)
        if event:
            counts[event] += 1
    findings = (
        Finding.objects.filter(status=FindingStatus.OPEN, due_date__lt=today)
        .select_related("model", "owner", "model__validator", "model__business_owner")
        .order_by("pk")
    )
    for finding in findings:
        if _finding_step(finding=finding, today=today):
            counts["finding.overdue"] += 1
    return counts
