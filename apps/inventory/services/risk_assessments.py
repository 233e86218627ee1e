"""Risk assessments: the questionnaire, a validator's tier proposal, and what an approved,
rejected or sent-back proposal does to the assessment and the model."""

from __future__ import annotations

from django.db import transaction

from apps.approvals.choices import ApprovalKind, RequestStatus
from apps.approvals.services import approval_request_create, approval_requests_invalidate
from apps.audit import diff
from apps.audit.models import AuditEvent
from apps.audit.services import audit_record, audited_update
from apps.core import clock
from apps.core.errors import ApplicationError
from apps.core.services import require_perm
from apps.inventory import risk, selectors
from apps.inventory.choices import AnnexIIIPoint, EUAIActClass, RiskAssessmentStatus
from apps.inventory.models import RegisteredModel, RiskAssessment
from apps.inventory.services.registered_models import _model_snapshot


@transaction.atomic
def risk_assessment_submit(
    *,
    actor,
    model: RegisteredModel,
    answers: dict[str, str],
    eu_ai_act_class: str,
    eu_annex_iii_point: str = "",
) -> RiskAssessment:
    """Record questionnaire answers and the suggested tier; a validator decides later."""
    require_perm(actor, "inventory.assess_risk_registeredmodel", model)
    valid_classes = {c for c, _ in EUAIActClass.choices} - {EUAIActClass.UNASSESSED}
    if eu_ai_act_class not in valid_classes:
        raise ApplicationError(
            "Choose the EU AI Act class.",
            field_errors={"eu_ai_act_class": ["Choose the EU AI Act class."]},
        )
    if eu_ai_act_class == EUAIActClass.HIGH_RISK and not eu_annex_iii_point:
        raise ApplicationError(
            "A high-risk model must name its Annex III point.",
            field_errors={"eu_annex_iii_point": ["Name the Annex III point, e.g. 5(b)."]},
        )
    if eu_annex_iii_point not in AnnexIIIPoint.values:
        # The point is copied onto the model on decision; it must be a valid choice.
        raise ApplicationError(
            f"{eu_annex_iii_point!r} is not an Annex III point.",
            field_errors={"eu_annex_iii_point": ["Choose a point from Annex III, e.g. 5(b)."]},
        )
    try:
        suggestion = risk.suggest_tier(answers, eu_ai_act_class)
    except risk.InvalidAnswers as exc:
        raise ApplicationError(
            "The questionnaire is incomplete.", field_errors=exc.field_errors
        ) from exc
    answers = {**answers, "eu_annex_iii_point": eu_annex_iii_point}
    assessment = RiskAssessment.objects.create(
        model=model,
        answers=answers,
        eu_ai_act_class=eu_ai_act_class,
        suggested_tier=suggestion.tier,
        suggested_rationale=suggestion.rationale,
        points=suggestion.points,
        assessed_by=actor,
        assessed_at=clock.now(),
    )
    audit_record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        obj=assessment,
        model_ref=model.pk,
        changes=diff.created(
            {
                "answers": answers,
                "eu_ai_act_class": eu_ai_act_class,
                "suggested_tier": suggestion.tier,
                "points": suggestion.points,
            }
        ),
    )
    return assessment


@transaction.atomic
def risk_assessment_decide(
    *, actor, assessment: RiskAssessment, tier: int, reason: str = ""
) -> RiskAssessment:
    """A validator proposes the tier: confirms the suggestion or overrides it with a reason.

    The proposal is recorded on the assessment (``decided_*``, status awaiting approval) and a
    risk-tier-change approval request is made with the proposer as requester: the tier reaches
    the model only when another validator approves it (``apps.inventory.approvals``). The
    request is available as ``assessment.approval_request``. A proposal whose request went
    stale or was withdrawn may be made again.
    """
    require_perm(actor, "inventory.decide_risk_registeredmodel", assessment.model)
    assessment = (
        RiskAssessment.objects.select_for_update(of=("self",))
        .select_related("model")
        .get(pk=assessment.pk)
    )
    if assessment.status == RiskAssessmentStatus.AWAITING_APPROVAL:
        if selectors.risk_tier_request_pending(assessment):
            raise ApplicationError("A tier for this assessment is already awaiting approval.")
    elif assessment.status != RiskAssessmentStatus.PENDING:
        raise ApplicationError("This assessment has already been decided.")
    if assessment.assessed_by_id == actor.pk:
        # Four-eyes: the tier is proposed by someone other than the person who assessed it.
        raise ApplicationError(
            "You filled in this questionnaire; another validator must confirm or override the tier."
        )
    if tier not in (1, 2, 3):
        raise ApplicationError(
            "Choose Tier 1, 2 or 3.", field_errors={"tier": ["Choose 1, 2 or 3."]}
        )
    refusal = risk.check_tier_decision(tier=tier, eu_class=assessment.eu_ai_act_class)
    if refusal:
        raise ApplicationError(refusal, field_errors={"tier": [refusal]})
    overriding = tier != assessment.suggested_tier
    if overriding and not reason.strip():
        message = "Give the reason for overriding the suggested tier."
        raise ApplicationError(message, field_errors={"reason": [message]})
    before_status = assessment.status
    assessment.status = RiskAssessmentStatus.AWAITING_APPROVAL
    assessment.decided_tier = tier
    assessment.decision_reason = reason.strip()
    assessment.decided_by = actor
    assessment.decided_at = clock.now()
    refusal = risk.proposal_refusal(assessment=assessment, model=assessment.model)
    if refusal:
        raise ApplicationError(refusal)
    assessment.save()
    audit_record(
        actor=actor,
        action=AuditEvent.Action.DECIDE,
        obj=assessment,
        model_ref=assessment.model_id,
        changes={
            "status": {"before": before_status, "after": assessment.status},
            "decided_tier": {"before": None, "after": tier},
            "decision_reason": {"before": "", "after": assessment.decision_reason},
            "decided_by": {"before": None, "after": actor.pk},
            "decided_at": {"before": None, "after": assessment.decided_at},
        },
        message=f"Tier {tier} proposed" + (f": {reason.strip()}" if reason.strip() else "."),
    )
    justification = reason.strip() or f"Confirm the suggested Tier {tier}."
    assessment.approval_request = approval_request_create(
        actor=actor,
        kind=ApprovalKind.RISK_TIER_CHANGE,
        subject=assessment,
        justification=justification,
    )
    return assessment


def risk_assessment_apply(*, actor, assessment: RiskAssessment, request) -> None:
    """Apply an approved tier proposal to the model. Called by the approval engine inside the
    transaction of the deciding signature, with the assessment locked.

    The proposing validator stays the model's ``risk_assessed_by`` (they made the call); the
    approver is recorded on the assessment (``approved_by``) and in the model's rationale.
    """
    model = RegisteredModel.objects.select_for_update(of=("self",)).get(pk=assessment.model_id)
    refusal = risk.proposal_refusal(assessment=assessment, model=model)
    if refusal:
        raise ApplicationError(refusal)
    now = clock.now()
    tier = assessment.decided_tier
    reason = assessment.decision_reason
    overriding = tier != assessment.suggested_tier
    assessment.status = (
        RiskAssessmentStatus.OVERRIDDEN if overriding else RiskAssessmentStatus.CONFIRMED
    )
    assessment.approved_by = actor
    assessment.approved_at = now
    assessment.save(update_fields=["status", "approved_by", "approved_at"])
    audit_record(
        actor=actor,
        action=AuditEvent.Action.DECIDE,
        obj=assessment,
        model_ref=assessment.model_id,
        changes={
            "status": {
                "before": RiskAssessmentStatus.AWAITING_APPROVAL,
                "after": assessment.status,
            },
            "approved_by": {"before": None, "after": actor.get_username()},
        },
        message=f"Tier {tier} approved (request #{request.pk}).",
    )
    rationale = assessment.suggested_rationale
    if overriding:
        rationale += f"\n\nOverridden to Tier {tier} by the validator: {reason}"
    elif reason:
        rationale += f"\n\nValidator's note: {reason}"
    approver = actor.get_full_name() or actor.get_username()
    rationale += f"\n\nApproved by {approver} (request #{request.pk})."
    high_risk = assessment.eu_ai_act_class == EUAIActClass.HIGH_RISK
    audited_update(
        model,
        actor=actor,
        data={
            "risk_tier": tier,
            "risk_tier_rationale": rationale,
            "risk_assessed_by_id": assessment.decided_by_id,
            "risk_assessed_at": now,
            "eu_ai_act_class": assessment.eu_ai_act_class,
            "eu_annex_iii_point": assessment.answers.get("eu_annex_iii_point", "")
            if high_risk
            else "",
        },
        fields=_model_snapshot,
        model_ref=model.pk,
        message=f"Risk tier decision approved (request #{request.pk})",
        validate=False,
        lock=False,
    )
    # Other proposals were made against the tier that was in force until now.
    for other in model.risk_assessments.filter(
        status=RiskAssessmentStatus.AWAITING_APPROVAL
    ).exclude(pk=assessment.pk):
        approval_requests_invalidate(
            actor=actor,
            subject=other,
            reason="The model's risk tier changed since this proposal; propose again.",
        )


def risk_assessment_close(*, actor, assessment: RiskAssessment, request) -> None:
    """A tier proposal was rejected or sent back. Changes requested: the assessment awaits a
    new proposal (the withdrawn one stays in the request and the audit trail). Rejected: the
    assessment is closed; a new questionnaire is needed."""
    if request.status == RequestStatus.REJECTED:
        data = {"status": RiskAssessmentStatus.REJECTED}
    else:
        data = {
            "status": RiskAssessmentStatus.PENDING,
            "decided_tier": None,
            "decision_reason": "",
            "decided_by": None,
            "decided_at": None,
        }
    audited_update(
        assessment,
        actor=actor,
        data=data,
        fields=("status",),
        model_ref=assessment.model_id,
        action=AuditEvent.Action.TRANSITION,
        message=f"{request.get_status_display()} (request #{request.pk}): {request.closing_note}",
        validate=False,
        lock=False,
    )
