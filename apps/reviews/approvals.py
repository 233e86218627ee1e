"""Approval kinds owned by the reviews app: periodic-review attestation and finding risk
acceptance. Registered with the approval engine in ``ReviewsConfig.ready``."""

from __future__ import annotations

from apps.approvals.choices import ApprovalKind
from apps.approvals.registry import KindHandler, register
from apps.core.errors import ApplicationError
from apps.reviews import services
from apps.reviews.choices import FindingStatus, ReviewStatus
from apps.reviews.models import Finding, Review


def _load_review(subject_id: str) -> Review:
    return (
        Review.objects.select_for_update(of=("self",))
        .select_related("model", "reviewer")
        .get(pk=subject_id)
    )


def _review_content(review: Review) -> dict:
    return {
        "model": review.model.slug,
        "reviewer": review.reviewer.get_username(),
        "scope": review.scope,
        "outcome": review.outcome,
        "notes": review.notes,
        "due_date": review.due_date,
        "reviewed_on": review.reviewed_on,
    }


def _check_review(*, subject: Review, actor, stage: str) -> None:
    if subject.status != ReviewStatus.SUBMITTED:
        raise ApplicationError(
            f"This review is {subject.get_status_display().lower()}; only a submitted review "
            "can be attested."
        )


def _compare_review(review: Review) -> list[dict]:
    return [
        {
            "label": "Next review date",
            "current": review.model.next_review_date,
            "proposed": f"{services.cadence_months(review.model.risk_tier)} months after "
            "attestation",
        },
        {"label": "Outcome", "current": "", "proposed": review.get_outcome_display()},
    ]


def _load_finding(subject_id: str) -> Finding:
    return (
        Finding.objects.select_for_update(of=("self",))
        .select_related("model", "owner")
        .get(pk=subject_id)
    )


def _finding_content(finding: Finding) -> dict:
    return {
        "model": finding.model.slug,
        "title": finding.title,
        "severity": finding.severity,
        "description": finding.description,
        "owner": finding.owner.get_username(),
        "due_date": finding.due_date,
        "status": finding.status,
        "evidence": finding.evidence,
        "evidence_links": finding.links,
    }


def _check_finding(*, subject: Finding, actor, stage: str) -> None:
    if subject.status not in (FindingStatus.OPEN, FindingStatus.REMEDIATED):
        raise ApplicationError(
            f"This finding is {subject.get_status_display().lower()}; only an open or "
            "remediated finding's risk can be accepted."
        )


def register_kinds() -> None:
    register(
        ApprovalKind.REVIEW_ATTESTATION,
        KindHandler(
            load=_load_review,
            model_of=lambda r: r.model,
            content=_review_content,
            title=lambda r: f"Periodic review of {r.model.name} ({r.get_outcome_display()})",
            check=_check_review,
            apply=lambda *, subject, request, actor: services.review_attest(
                actor=actor, review=subject, request=request
            ),
            on_closed=lambda *, subject, request, actor: services.review_return(
                actor=actor, review=subject, request=request
            ),
            compare=_compare_review,
        ),
    )
    register(
        ApprovalKind.RISK_ACCEPTANCE,
        KindHandler(
            load=_load_finding,
            model_of=lambda f: f.model,
            content=_finding_content,
            title=lambda f: f"Accept the risk of finding \u201c{f.title}\u201d on {f.model.name}",
            check=_check_finding,
            apply=lambda *, subject, request, actor: services.finding_accept_risk(
                actor=actor, finding=subject, request=request
            ),
            needs_justification=True,
            compare=lambda f: [
                {
                    "label": "Status",
                    "current": f.get_status_display(),
                    "proposed": FindingStatus.RISK_ACCEPTED.label,
                }
            ],
        ),
    )
