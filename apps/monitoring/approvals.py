"""The THRESHOLD_SIGNOFF approval kind, registered in ``MonitoringConfig.ready``.

The engine freezes exactly what a business owner signs: metric, scope (version, segment),
direction, bounds, evaluation, rationale and review-by date. When the quorum is met the
threshold becomes active and the one it replaces superseded, in the same transaction.
A rejection ends the threshold (status rejected); a request for changes returns it to
draft so its authors can edit and submit it again.
"""

from __future__ import annotations

from django.utils import timezone

from apps.approvals.choices import ApprovalKind, RequestStatus
from apps.approvals.registry import KindHandler, register
from apps.core.errors import ApplicationError
from apps.monitoring import selectors, services
from apps.monitoring.choices import ThresholdStatus
from apps.monitoring.models import Threshold


def _load(subject_id: str) -> Threshold:
    return (
        Threshold.objects.select_for_update(of=("self",))
        .select_related("model", "version", "metric", "supersedes", "signoff_request")
        .get(pk=subject_id)
    )


def threshold_content(threshold: Threshold) -> dict:
    """What is signed. Status is not part of it: the request is about these values."""
    return {
        "model": threshold.model.slug,
        "version": threshold.version.version if threshold.version_id else None,
        "segment": threshold.segment,
        "metric": threshold.metric.name,
        "direction": threshold.direction,
        "warning_bound": threshold.warning_bound,
        "critical_bound": threshold.critical_bound,
        "evaluation": threshold.evaluation,
        "window_days": threshold.window_days,
        "min_samples": threshold.min_samples,
        "rationale": threshold.rationale,
        "review_by": threshold.review_by.isoformat(),
        "supersedes": threshold.supersedes_id,
    }


def _title(threshold: Threshold) -> str:
    verb = "Revise" if threshold.supersedes_id else "Sign off"
    return f"{verb} threshold: {threshold}"


def describe_evaluation(threshold: Threshold | None) -> str:
    if threshold is None:
        return ""
    if threshold.window_days:
        how = f"{threshold.get_evaluation_display().split(' ')[0].lower()} over "
        how += f"{threshold.window_days} days"
    else:
        how = "latest value"
    return f"{how}, at least {threshold.min_samples} sample(s)"


def _bounds(threshold: Threshold | None) -> str:
    if threshold is None:
        return ""
    word = "below" if threshold.direction == "below" else "above"
    return (
        f"breach {word}: warning {threshold.warning_bound:g}, critical {threshold.critical_bound:g}"
    )


def compare(threshold: Threshold) -> list[dict]:
    """Rows of what is in force now against what is proposed, for the approver."""
    current = threshold.supersedes
    if current is None or current.status not in (ThresholdStatus.ACTIVE, ThresholdStatus.EXPIRED):
        current = selectors.active_threshold_for(threshold)

    def val(t: Threshold | None, getter) -> str:
        return "" if t is None else str(getter(t))

    rows = [
        ("Threshold in force", lambda t: f"#{t.pk} ({t.get_status_display().lower()})"),
        ("Metric", lambda t: t.metric.name),
        ("Version", lambda t: t.version.version if t.version_id else "all versions"),
        ("Segment", lambda t: t.segment or "whole population"),
        ("Bounds", _bounds),
        ("Evaluation", describe_evaluation),
        ("Rationale", lambda t: t.rationale),
        ("Review by", lambda t: t.review_by.isoformat()),
    ]
    return [
        {
            "label": label,
            "current": val(current, getter) if current is not None else "—",
            "proposed": f"#{threshold.pk} (proposed)" if i == 0 else val(threshold, getter),
        }
        for i, (label, getter) in enumerate(rows)
    ]


def _check(*, subject: Threshold, actor, stage: str) -> None:
    if stage == "request":
        waiting = (
            subject.status == ThresholdStatus.PENDING_SIGNOFF
            and subject.signoff_request is not None
            and subject.signoff_request.status == RequestStatus.PENDING
        )
        resubmittable = subject.status == ThresholdStatus.DRAFT or (
            subject.status == ThresholdStatus.PENDING_SIGNOFF and not waiting
        )
        if not resubmittable:
            raise ApplicationError(
                f"This threshold is {subject.get_status_display().lower()}; only a draft is "
                "submitted for sign-off."
            )
    elif subject.status != ThresholdStatus.PENDING_SIGNOFF:
        raise ApplicationError(
            f"This threshold is {subject.get_status_display().lower()}, not waiting for sign-off."
        )
    if subject.review_by <= timezone.localdate():
        raise ApplicationError(
            "The review-by date has passed or is today; edit the threshold and submit it again.",
            field_errors={"review_by": ["The review-by date must be in the future."]},
        )


def _apply(*, subject: Threshold, request, actor) -> None:
    services.threshold_activate(actor=actor, threshold=subject, request=request)


def _on_closed(*, subject: Threshold, request, actor) -> None:
    rejected = request.status == RequestStatus.REJECTED
    services.threshold_close_unsigned(
        actor=actor, threshold=subject, request=request, rejected=rejected
    )


def register_kinds() -> None:
    register(
        ApprovalKind.THRESHOLD_SIGNOFF,
        KindHandler(
            load=_load,
            model_of=lambda t: t.model,
            content=threshold_content,
            title=_title,
            check=_check,
            apply=_apply,
            on_closed=_on_closed,
            compare=compare,
        ),
    )
