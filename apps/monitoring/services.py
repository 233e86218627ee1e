"""Every write to metric definitions and thresholds. Keyword-only, atomic, audited.

A threshold is edited only while a draft. Editing one that waits for sign-off returns it to
draft and makes the sign-off request stale (the approver would otherwise sign something
else). An active threshold is never edited: ``threshold_revise`` drafts its successor, and
the active one keeps applying until the successor is signed off through the approval engine
(see ``apps.monitoring.approvals``).
"""

from __future__ import annotations

import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.approvals.choices import ApprovalKind
from apps.approvals.services import approval_request_create, approval_requests_invalidate
from apps.audit import diff
from apps.audit.models import AuditEvent
from apps.audit.services import audit_record, audited_update
from apps.core import clock
from apps.core.errors import ApplicationError
from apps.core.services import reject_unknown_fields, require_perm, validate_instance
from apps.inventory.choices import LifecycleStatus
from apps.inventory.models import ModelVersion, RegisteredModel
from apps.monitoring.choices import ThresholdStatus, default_breach_direction
from apps.monitoring.models import MetricDefinition, Threshold

METRIC_FIELDS = ("name", "description", "unit", "direction")
THRESHOLD_EDITABLE_FIELDS = (
    "version",
    "segment",
    "metric",
    "direction",
    "warning_bound",
    "critical_bound",
    "evaluation",
    "window_days",
    "min_samples",
    "rationale",
    "review_by",
)
THRESHOLD_AUDITED_FIELDS = (
    "model",
    *THRESHOLD_EDITABLE_FIELDS,
    "status",
    "supersedes",
    "signoff_request",
    "activated_at",
    "ended_at",
)


def _refuse(message: str, field: str | None = None) -> ApplicationError:
    return ApplicationError(message, field_errors={field: [message]} if field else None)


def _snapshot(threshold: Threshold) -> dict[str, Any]:
    return diff.snapshot(threshold, THRESHOLD_AUDITED_FIELDS)


# --- metric definitions ------------------------------------------------------------------


@transaction.atomic
def metric_definition_create(
    *, actor, name: str, direction: str, description: str = "", unit: str = ""
) -> MetricDefinition:
    """Define a metric thresholds can name. Validators and admins keep the catalogue."""
    require_perm(actor, "monitoring.add_metricdefinition")
    metric = MetricDefinition(
        name=name.strip(),
        direction=direction,
        description=description.strip(),
        unit=unit.strip(),
        created_by=actor,
    )
    validate_instance(metric)
    metric.save()
    audit_record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        obj=metric,
        changes=diff.created(diff.snapshot(metric, METRIC_FIELDS)),
    )
    return metric


# --- thresholds --------------------------------------------------------------------------


def _check_scope(*, model: RegisteredModel, version: ModelVersion | None) -> None:
    if model.status == LifecycleStatus.RETIRED:
        raise _refuse(f"{model} is retired; it is no longer monitored.")
    if version is not None and version.model_id != model.pk:
        raise _refuse("Choose a version of this model.", "version")


def _check_review_by(review_by: datetime.date | None) -> None:
    if review_by is not None and review_by <= timezone.localdate():
        raise _refuse("The review-by date must be in the future.", "review_by")


@transaction.atomic
def threshold_create(
    *,
    actor,
    model: RegisteredModel,
    metric: MetricDefinition,
    warning_bound: float,
    critical_bound: float,
    rationale: str,
    review_by: datetime.date,
    direction: str = "",
    version: ModelVersion | None = None,
    segment: str = "",
    evaluation: str = "latest",
    window_days: int | None = None,
    min_samples: int = 1,
) -> Threshold:
    """Draft a threshold. It has no effect until signed off (``threshold_submit``).

    Without a direction, the metric's suggests one (higher is better → breach below).
    """
    require_perm(actor, "monitoring.add_threshold", model)
    _check_scope(model=model, version=version)
    _check_review_by(review_by)
    threshold = Threshold(
        model=model,
        version=version,
        segment=(segment or "").strip(),
        metric=metric,
        direction=direction or default_breach_direction(metric.direction),
        warning_bound=warning_bound,
        critical_bound=critical_bound,
        evaluation=evaluation,
        window_days=window_days,
        min_samples=min_samples,
        rationale=(rationale or "").strip(),
        review_by=review_by,
        status=ThresholdStatus.DRAFT,
        created_by=actor,
    )
    validate_instance(threshold, exclude=["created_by"])
    threshold.save()
    audit_record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        obj=threshold,
        model_ref=model.pk,
        changes=diff.created(_snapshot(threshold)),
    )
    return threshold


def _lock(threshold: Threshold) -> Threshold:
    return (
        Threshold.objects.select_for_update(of=("self",))
        .select_related("model", "version", "metric")
        .get(pk=threshold.pk)
    )


@transaction.atomic
def threshold_update(*, actor, threshold: Threshold, **data: Any) -> Threshold:
    """Edit a draft. A threshold pending sign-off returns to draft and its request goes stale;
    active, superseded, expired and rejected thresholds are never edited."""
    threshold = _lock(threshold)
    require_perm(actor, "monitoring.change_threshold", threshold)
    reject_unknown_fields(data, THRESHOLD_EDITABLE_FIELDS)
    if not threshold.is_editable:
        raise _refuse(
            f"This threshold is {threshold.get_status_display().lower()} and cannot be edited"
            + (
                "; revise it to propose new bounds (it keeps applying until they are signed)."
                if threshold.status == ThresholdStatus.ACTIVE
                else "."
            )
        )
    was_pending = threshold.status == ThresholdStatus.PENDING_SIGNOFF
    threshold, changes = audited_update(
        threshold,
        actor=actor,
        data={
            name: value.strip() if isinstance(value, str) else value for name, value in data.items()
        },
        fields=THRESHOLD_AUDITED_FIELDS,
        model_ref=threshold.model_id,
        message="Edited while waiting for sign-off: back to draft." if was_pending else "",
        check=_check_edit,
        exclude=["created_by"],
        lock=False,
    )
    if changes and was_pending:
        approval_requests_invalidate(
            actor=actor,
            subject=threshold,
            reason="The threshold was edited after sign-off was requested; submit it again.",
        )
    return threshold


def _check_edit(before: dict[str, Any], threshold: Threshold) -> None:
    """An edit that changes something keeps to the threshold's scope and a future review-by
    date; a threshold waiting for sign-off goes back to draft."""
    after = _snapshot(threshold)
    if after == before:
        return
    _check_scope(model=threshold.model, version=threshold.version)
    if after["review_by"] != before["review_by"]:
        _check_review_by(threshold.review_by)
    if threshold.status == ThresholdStatus.PENDING_SIGNOFF:
        threshold.status = ThresholdStatus.DRAFT


def _set_status(threshold: Threshold, *, actor, status: str, message: str = "", **extra) -> None:
    audited_update(
        threshold,
        actor=actor,
        data={"status": status, **extra},
        fields=THRESHOLD_AUDITED_FIELDS,
        model_ref=threshold.model_id,
        action=AuditEvent.Action.TRANSITION,
        message=message,
        validate=False,
        lock=False,
        update_fields=["status", *extra, "updated_at"],
    )


@transaction.atomic
def threshold_submit(*, actor, threshold: Threshold, justification: str = "") -> Threshold:
    """Ask for sign-off through the approval engine (kind THRESHOLD_SIGNOFF).

    The engine freezes the bounds, evaluation, rationale and review date; the policy names
    the approvers (the model's business owner; for Tier 1 also a validator).
    """
    threshold = _lock(threshold)
    require_perm(actor, "monitoring.submit_threshold", threshold)
    request = approval_request_create(
        actor=actor,
        kind=ApprovalKind.THRESHOLD_SIGNOFF,
        subject=threshold,
        justification=justification,
    )
    _set_status(
        threshold,
        actor=actor,
        status=ThresholdStatus.PENDING_SIGNOFF,
        message=f"Sign-off requested (request #{request.pk}).",
        signoff_request=request,
    )
    return threshold


@transaction.atomic
def threshold_revise(*, actor, threshold: Threshold) -> Threshold:
    """Draft a successor of an active (or expired) threshold with the same values.

    The original keeps applying; once the successor is signed off it replaces it.
    """
    threshold = _lock(threshold)
    require_perm(actor, "monitoring.revise_threshold", threshold)
    if threshold.status not in (ThresholdStatus.ACTIVE, ThresholdStatus.EXPIRED):
        raise _refuse("Only an active or expired threshold is revised; edit a draft directly.")
    open_revision = threshold.revisions.filter(
        status__in=(ThresholdStatus.DRAFT, ThresholdStatus.PENDING_SIGNOFF)
    ).first()
    if open_revision is not None:
        raise _refuse(
            f"A revision of this threshold is already {open_revision.get_status_display().lower()}"
            f" (#{open_revision.pk}); continue with that one."
        )
    _check_scope(model=threshold.model, version=threshold.version)
    revision = Threshold(
        model=threshold.model,
        **{name: getattr(threshold, name) for name in THRESHOLD_EDITABLE_FIELDS},
        status=ThresholdStatus.DRAFT,
        supersedes=threshold,
        created_by=actor,
    )
    revision.save()
    audit_record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        obj=revision,
        model_ref=threshold.model_id,
        changes=diff.created(_snapshot(revision)),
        message=f"Revision of threshold #{threshold.pk}; that one applies until this is signed.",
    )
    return revision


def threshold_activate(*, actor, threshold: Threshold, request=None) -> Threshold:
    """Make a signed-off threshold active; what it replaces becomes superseded. Called by the
    approval engine inside the transaction of the deciding signature, never directly."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("threshold_activate runs inside the approval engine's transaction")
    threshold = _lock(threshold)
    now = clock.now()
    replaced = Threshold.objects.select_for_update(of=("self",)).filter(
        model_id=threshold.model_id,
        version_id=threshold.version_id,
        segment=threshold.segment,
        metric_id=threshold.metric_id,
        status__in=(ThresholdStatus.ACTIVE, ThresholdStatus.EXPIRED),
    )
    ids = set(replaced.values_list("pk", flat=True))
    if threshold.supersedes_id and threshold.supersedes.status in (
        ThresholdStatus.ACTIVE,
        ThresholdStatus.EXPIRED,
    ):
        ids.add(threshold.supersedes_id)
    ids.discard(threshold.pk)
    suffix = f" (request #{request.pk})" if request is not None else ""
    for old in Threshold.objects.select_for_update(of=("self",)).filter(pk__in=sorted(ids)):
        _set_status(
            old,
            actor=actor,
            status=ThresholdStatus.SUPERSEDED,
            message=f"Superseded by threshold #{threshold.pk}, signed off{suffix}.",
            ended_at=now,
        )
    try:
        with transaction.atomic():
            _set_status(
                threshold,
                actor=actor,
                status=ThresholdStatus.ACTIVE,
                message=f"Signed off{suffix}: now applies.",
                activated_at=now,
            )
    except IntegrityError as exc:  # a concurrent activation won the race
        raise _refuse("Another threshold became active for the same scope; try again.") from exc
    return threshold


def threshold_close_unsigned(*, actor, threshold: Threshold, request, rejected: bool) -> None:
    """The sign-off was refused: a rejection ends the threshold (rejected); a request for
    changes returns it to draft for its authors to edit and submit again."""
    threshold = _lock(threshold)
    if threshold.status != ThresholdStatus.PENDING_SIGNOFF:
        return
    if rejected:
        _set_status(
            threshold,
            actor=actor,
            status=ThresholdStatus.REJECTED,
            message=f"Sign-off rejected (request #{request.pk}): {request.closing_note}",
            ended_at=clock.now(),
        )
    else:
        _set_status(
            threshold,
            actor=actor,
            status=ThresholdStatus.DRAFT,
            message=f"Changes requested (request #{request.pk}): {request.closing_note}",
        )


@transaction.atomic
def threshold_expire_due(*, today: datetime.date | None = None) -> list[int]:
    """Expire active thresholds whose review-by date has passed; returns their ids.

    Run daily by the ``monitoring.expire_thresholds`` beat task as the system (no actor);
    safe to run twice. A threshold applies up to and including its review-by date.
    """
    today = today or timezone.localdate()
    now = clock.now()
    due = Threshold.objects.select_for_update(of=("self",)).filter(
        status=ThresholdStatus.ACTIVE, review_by__lt=today
    )
    expired = []
    for threshold in due.order_by("pk"):
        _set_status(
            threshold,
            actor=None,
            status=ThresholdStatus.EXPIRED,
            message=f"Review-by date {threshold.review_by:%d %b %Y} passed; revise and sign it "
            "off again.",
            ended_at=now,
        )
        expired.append(threshold.pk)
    return expired
