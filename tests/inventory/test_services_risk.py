"""Risk tiering through the services: questionnaire, a validator's proposal (confirm /
override) approved by a second validator through the approval engine, audit."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from apps.approvals.choices import ApprovalKind, RequestStatus, Verdict
from apps.approvals.models import ApprovalRequest
from apps.approvals.services import approval_withdraw, content_sha256
from apps.audit.chain import normalise
from apps.audit.models import AuditEvent
from apps.core import roles
from apps.core.errors import ApplicationError
from apps.inventory import services
from apps.inventory.approvals import _assessment_content
from apps.inventory.choices import EUAIActClass, LifecycleStatus, RiskAssessmentStatus
from apps.inventory.models import RegisteredModel, RiskAssessment
from tests.approvals.helpers import sign
from tests.factories import RegisteredModelFactory, UserFactory

LOW_ANSWERS = {
    "financial_exposure": "low",
    "customer_impact": "low",
    "regulatory_use": "low",
    "automation": "low",
    "complexity": "medium",
}


@pytest.fixture
def validator2(db):
    return UserFactory(username="val.second", roles=[roles.VALIDATOR])


def _request_of(assessment) -> ApprovalRequest:
    return ApprovalRequest.objects.get(
        kind=ApprovalKind.RISK_TIER_CHANGE, subject_id=str(assessment.pk)
    )


def _submit(actor, model, *, answers=None, eu_class=EUAIActClass.MINIMAL, annex=""):
    return services.risk_assessment_submit(
        actor=actor,
        model=model,
        answers=answers or LOW_ANSWERS,
        eu_ai_act_class=eu_class,
        eu_annex_iii_point=annex,
    )


def test_the_owner_submits_the_questionnaire_and_gets_a_suggestion(model_owner, owned_model):
    assessment = _submit(model_owner, owned_model)

    assert assessment.status == RiskAssessmentStatus.PENDING
    assert assessment.suggested_tier == 3
    assert assessment.points == 6
    assert assessment.suggested_rationale.startswith("Suggested Tier 3")
    assert (assessment.assessed_by, assessment.assessed_at is not None) == (model_owner, True)
    # The model keeps no tier until a validator decides.
    assert RegisteredModel.objects.get(pk=owned_model.pk).risk_tier is None
    [event] = AuditEvent.objects.all()
    assert event.action == "create"
    assert event.object_type == "inventory.riskassessment"
    assert event.model_ref == owned_model.pk
    assert event.changes["suggested_tier"] == {"before": None, "after": 3}


def test_an_incomplete_questionnaire_is_refused_per_field(model_owner, owned_model):
    answers = {**LOW_ANSWERS, "automation": "sometimes"}
    del answers["complexity"]
    with pytest.raises(ApplicationError) as exc:
        _submit(model_owner, owned_model, answers=answers)
    assert set(exc.value.field_errors) == {"automation", "complexity"}
    assert not RiskAssessment.objects.exists()
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize("eu_class", ["", EUAIActClass.UNASSESSED, "dangerous"])
def test_the_eu_class_must_be_chosen(model_owner, owned_model, eu_class):
    with pytest.raises(ApplicationError) as exc:
        _submit(model_owner, owned_model, eu_class=eu_class)
    assert "eu_ai_act_class" in exc.value.field_errors


def test_a_high_risk_model_must_name_its_annex_iii_point(model_owner, owned_model):
    with pytest.raises(ApplicationError) as exc:
        _submit(model_owner, owned_model, eu_class=EUAIActClass.HIGH_RISK)
    assert "eu_annex_iii_point" in exc.value.field_errors


def test_an_unknown_annex_iii_point_is_refused(model_owner, owned_model):
    with pytest.raises(ApplicationError) as exc:
        _submit(model_owner, owned_model, eu_class=EUAIActClass.HIGH_RISK, annex="99(z)-bogus")
    assert "eu_annex_iii_point" in exc.value.field_errors
    assert not RiskAssessment.objects.exists()


@pytest.mark.parametrize(
    "persona", ["business_owner", "auditor", "viewer", "outsider", "other_model_owner"]
)
def test_others_cannot_submit_a_questionnaire(persona, request, owned_model):
    with pytest.raises(PermissionDenied):
        _submit(request.getfixturevalue(persona), owned_model)
    assert not RiskAssessment.objects.exists()


def test_a_validators_proposal_creates_a_pending_tier_change_request(
    model_owner, validator, owned_model
):
    assessment = _submit(model_owner, owned_model)
    proposed = services.risk_assessment_decide(actor=validator, assessment=assessment, tier=3)

    assert proposed.status == RiskAssessmentStatus.AWAITING_APPROVAL
    assert (proposed.decided_tier, proposed.decided_by) == (3, validator)
    assert proposed.decided_at is not None
    request = proposed.approval_request
    assert request == _request_of(assessment)
    assert (request.kind, request.status) == (
        ApprovalKind.RISK_TIER_CHANGE,
        RequestStatus.PENDING,
    )
    assert request.requested_by == validator
    assert request.required_slots == ["validator"]
    assert request.title == "Risk tier of Owned model: Tier 3"
    assert request.content["proposed_tier"] == 3
    assert request.content["current_tier"] is None
    assert request.content["answers"] == {**LOW_ANSWERS, "eu_annex_iii_point": ""}
    fresh = RiskAssessment.objects.select_related("model", "decided_by").get(pk=assessment.pk)
    assert request.content_sha256 == content_sha256(normalise(_assessment_content(fresh)))
    # Nothing reaches the model before the approval.
    model = RegisteredModel.objects.get(pk=owned_model.pk)
    assert (model.risk_tier, model.eu_ai_act_class) == (None, EUAIActClass.UNASSESSED)
    propose_event = AuditEvent.objects.get(action="decide")
    assert propose_event.changes["status"] == {"before": "pending", "after": "awaiting_approval"}
    assert propose_event.actor == validator


def test_the_tier_changes_only_when_a_second_validator_approves(
    model_owner, validator, validator2, owned_model
):
    assessment = _submit(model_owner, owned_model)
    proposed = services.risk_assessment_decide(actor=validator, assessment=assessment, tier=3)
    start = AuditEvent.objects.order_by("-sequence").first().sequence

    sign(proposed.approval_request, validator2)

    decided = RiskAssessment.objects.get(pk=assessment.pk)
    assert decided.status == RiskAssessmentStatus.CONFIRMED
    assert (decided.decided_by, decided.approved_by) == (validator, validator2)
    model = RegisteredModel.objects.get(pk=owned_model.pk)
    assert model.risk_tier == 3
    assert model.eu_ai_act_class == EUAIActClass.MINIMAL
    # The proposer made the call; the approver is on the assessment and in the rationale.
    assert (model.risk_assessed_by, model.risk_assessed_at) == (validator, decided.approved_at)
    assert model.risk_tier_rationale.startswith("Suggested Tier 3")
    assert f"Approved by {validator2.get_full_name()}" in model.risk_tier_rationale
    assert _request_of(assessment).status == RequestStatus.APPROVED
    events = list(AuditEvent.objects.filter(sequence__gt=start).order_by("sequence"))
    assert [(e.action, e.object_type) for e in events] == [
        ("decide", "approvals.approvalrequest"),
        ("decide", "inventory.riskassessment"),
        ("update", "inventory.registeredmodel"),
        ("transition", "approvals.approvalrequest"),
    ]
    assert events[1].changes["status"] == {"before": "awaiting_approval", "after": "confirmed"}
    assert events[2].changes["risk_tier"] == {"before": None, "after": 3}
    assert all(e.actor == validator2 for e in events)


def test_the_proposer_cannot_approve_their_own_tier(model_owner, validator, owned_model):
    assessment = _submit(model_owner, owned_model)
    proposed = services.risk_assessment_decide(actor=validator, assessment=assessment, tier=3)
    with pytest.raises(ApplicationError, match="You made this request"):
        sign(proposed.approval_request, validator)
    assert RegisteredModel.objects.get(pk=owned_model.pk).risk_tier is None
    assert _request_of(assessment).status == RequestStatus.PENDING


def test_the_assessor_cannot_approve_the_tier_of_their_questionnaire(
    validator, validator2, owned_model
):
    assessment = _submit(validator, owned_model)
    proposed = services.risk_assessment_decide(actor=validator2, assessment=assessment, tier=3)
    with pytest.raises(ApplicationError, match="filled in this questionnaire"):
        sign(proposed.approval_request, validator)
    assert RegisteredModel.objects.get(pk=owned_model.pk).risk_tier is None


def test_a_rejection_leaves_the_tier_unchanged(model_owner, validator, validator2, owned_model):
    assessment = _submit(model_owner, owned_model)
    proposed = services.risk_assessment_decide(
        actor=validator, assessment=assessment, tier=2, reason="Customer complaints history."
    )
    sign(proposed.approval_request, validator2, Verdict.REJECT, "Complaints were resolved.")

    assert RegisteredModel.objects.get(pk=owned_model.pk).risk_tier is None
    closed = RiskAssessment.objects.get(pk=assessment.pk)
    assert closed.status == RiskAssessmentStatus.REJECTED
    assert closed.approved_by is None
    with pytest.raises(ApplicationError, match="already been decided"):
        services.risk_assessment_decide(actor=validator, assessment=assessment, tier=3)


def test_changes_requested_sends_the_assessment_back_for_a_new_proposal(
    model_owner, validator, validator2, owned_model
):
    assessment = _submit(model_owner, owned_model)
    proposed = services.risk_assessment_decide(
        actor=validator, assessment=assessment, tier=2, reason="Customer complaints history."
    )
    sign(proposed.approval_request, validator2, Verdict.REQUEST_CHANGES, "Tier 3 suffices.")

    back = RiskAssessment.objects.get(pk=assessment.pk)
    assert back.status == RiskAssessmentStatus.PENDING
    assert (back.decided_tier, back.decided_by) == (None, None)
    assert RegisteredModel.objects.get(pk=owned_model.pk).risk_tier is None
    again = services.risk_assessment_decide(actor=validator, assessment=assessment, tier=3)
    assert again.approval_request.status == RequestStatus.PENDING


def test_a_model_change_in_between_makes_the_proposal_stale(
    model_owner, validator, validator2, admin_user, owned_model
):
    first = _submit(model_owner, owned_model)
    second = _submit(model_owner, owned_model, answers={**LOW_ANSWERS, "customer_impact": "high"})
    first_request = services.risk_assessment_decide(
        actor=validator, assessment=first, tier=3
    ).approval_request
    second_request = services.risk_assessment_decide(
        actor=validator, assessment=second, tier=2
    ).approval_request

    sign(second_request, validator2)
    assert RegisteredModel.objects.get(pk=owned_model.pk).risk_tier == 2

    # The first proposal was made against an unassessed model: it no longer applies.
    assert ApprovalRequest.objects.get(pk=first_request.pk).status == RequestStatus.STALE
    with pytest.raises(ApplicationError, match="closed"):
        sign(first_request, admin_user)
    assert RegisteredModel.objects.get(pk=owned_model.pk).risk_tier == 2
    # The validator may propose again against the tier now in force.
    again = services.risk_assessment_decide(actor=validator, assessment=first, tier=3)
    assert again.approval_request.content["current_tier"] == 2


def test_a_direct_model_change_is_detected_when_deciding(
    model_owner, validator, validator2, owned_model
):
    assessment = _submit(model_owner, owned_model)
    request = services.risk_assessment_decide(
        actor=validator, assessment=assessment, tier=3
    ).approval_request
    RegisteredModel.objects.filter(pk=owned_model.pk).update(eu_ai_act_class=EUAIActClass.LIMITED)

    with pytest.raises(ApplicationError, match="stale"):
        sign(request, validator2)
    assert ApprovalRequest.objects.get(pk=request.pk).status == RequestStatus.STALE
    assert RegisteredModel.objects.get(pk=owned_model.pk).risk_tier is None


def test_a_validator_overrides_with_a_reason(model_owner, validator, validator2, owned_model):
    assessment = _submit(model_owner, owned_model)
    proposed = services.risk_assessment_decide(
        actor=validator, assessment=assessment, tier=2, reason="Customer complaints history."
    )
    assert proposed.decision_reason == "Customer complaints history."
    assert proposed.approval_request.justification == "Customer complaints history."
    assert AuditEvent.objects.filter(action="decide").get().message == (
        "Tier 2 proposed: Customer complaints history."
    )
    sign(proposed.approval_request, validator2)

    assert RiskAssessment.objects.get(pk=assessment.pk).status == RiskAssessmentStatus.OVERRIDDEN
    model = RegisteredModel.objects.get(pk=owned_model.pk)
    assert model.risk_tier == 2
    assert "Overridden to Tier 2 by the validator: Customer complaints history." in (
        model.risk_tier_rationale
    )


def test_an_override_without_a_reason_is_refused(model_owner, validator, owned_model):
    assessment = _submit(model_owner, owned_model)
    with pytest.raises(ApplicationError) as exc:
        services.risk_assessment_decide(actor=validator, assessment=assessment, tier=1, reason=" ")
    assert "reason" in exc.value.field_errors
    assert RiskAssessment.objects.get(pk=assessment.pk).status == RiskAssessmentStatus.PENDING
    assert RegisteredModel.objects.get(pk=owned_model.pk).risk_tier is None
    assert not ApprovalRequest.objects.exists()
    assert AuditEvent.objects.count() == 1


def test_eu_high_risk_forces_tier_1(model_owner, validator, validator2, owned_model):
    assessment = _submit(model_owner, owned_model, eu_class=EUAIActClass.HIGH_RISK, annex="5(b)")
    assert assessment.suggested_tier == 1
    with pytest.raises(ApplicationError) as exc:
        services.risk_assessment_decide(
            actor=validator, assessment=assessment, tier=2, reason="Looks harmless to me."
        )
    assert "tier" in exc.value.field_errors
    assert not ApprovalRequest.objects.exists()
    assert RiskAssessment.objects.get(pk=assessment.pk).status == RiskAssessmentStatus.PENDING

    proposed = services.risk_assessment_decide(actor=validator, assessment=assessment, tier=1)
    assert RegisteredModel.objects.get(pk=owned_model.pk).risk_tier is None
    sign(proposed.approval_request, validator2)
    model = RegisteredModel.objects.get(pk=owned_model.pk)
    assert (model.risk_tier, model.eu_ai_act_class, model.eu_annex_iii_point) == (
        1,
        EUAIActClass.HIGH_RISK,
        "5(b)",
    )


@pytest.mark.parametrize("tier", [0, 4, None])
def test_the_tier_must_be_1_2_or_3(model_owner, validator, owned_model, tier):
    assessment = _submit(model_owner, owned_model)
    with pytest.raises(ApplicationError) as exc:
        services.risk_assessment_decide(actor=validator, assessment=assessment, tier=tier)
    assert "tier" in exc.value.field_errors


def test_an_assessment_is_proposed_and_decided_only_once(
    model_owner, validator, validator2, owned_model
):
    assessment = _submit(model_owner, owned_model)
    proposed = services.risk_assessment_decide(actor=validator, assessment=assessment, tier=3)
    with pytest.raises(ApplicationError, match="already awaiting approval"):
        services.risk_assessment_decide(
            actor=validator2, assessment=assessment, tier=2, reason="Second thoughts."
        )
    sign(proposed.approval_request, validator2)
    with pytest.raises(ApplicationError, match="already been decided"):
        services.risk_assessment_decide(
            actor=validator, assessment=assessment, tier=2, reason="Second thoughts."
        )
    assert RegisteredModel.objects.get(pk=owned_model.pk).risk_tier == 3


@pytest.mark.parametrize(
    "persona", ["model_owner", "business_owner", "auditor", "viewer", "outsider"]
)
def test_only_validators_and_admins_decide(persona, request, model_owner, owned_model):
    assessment = _submit(model_owner, owned_model)
    with pytest.raises(PermissionDenied):
        services.risk_assessment_decide(
            actor=request.getfixturevalue(persona), assessment=assessment, tier=3
        )
    assert RiskAssessment.objects.get(pk=assessment.pk).status == RiskAssessmentStatus.PENDING
    assert not ApprovalRequest.objects.exists()


def test_each_decision_is_kept_as_a_dated_record(
    model_owner, validator, validator2, admin_user, owned_model
):
    first = _submit(model_owner, owned_model)
    sign(
        services.risk_assessment_decide(actor=validator, assessment=first, tier=3).approval_request,
        validator2,
    )
    second = _submit(model_owner, owned_model, answers={**LOW_ANSWERS, "customer_impact": "high"})
    sign(
        services.risk_assessment_decide(
            actor=admin_user, assessment=second, tier=2
        ).approval_request,
        validator,
    )

    records = list(RiskAssessment.objects.filter(model=owned_model).order_by("assessed_at"))
    assert [(r.decided_tier, r.decided_by, r.approved_by) for r in records] == [
        (3, validator, validator2),
        (2, admin_user, validator),
    ]
    assert all(r.decided_at and r.assessed_at and r.approved_at for r in records)
    assert RegisteredModel.objects.get(pk=owned_model.pk).risk_tier == 2


def test_a_model_in_production_cannot_be_classed_prohibited(model_owner, validator):
    model = RegisteredModelFactory(
        owner=model_owner,
        status=LifecycleStatus.APPROVED,
        risk_tier=2,
        eu_ai_act_class=EUAIActClass.MINIMAL,
    )
    assessment = _submit(model_owner, model, eu_class=EUAIActClass.PROHIBITED)
    with pytest.raises(ApplicationError, match="retire it"):
        services.risk_assessment_decide(actor=validator, assessment=assessment, tier=1)
    assert RiskAssessment.objects.get(pk=assessment.pk).status == RiskAssessmentStatus.PENDING
    fresh = RegisteredModel.objects.get(pk=model.pk)
    assert (fresh.risk_tier, fresh.eu_ai_act_class) == (2, EUAIActClass.MINIMAL)
    assert not ApprovalRequest.objects.exists()
    assert AuditEvent.objects.count() == 1


def test_a_model_approved_meanwhile_cannot_be_classed_prohibited(
    model_owner, validator, validator2
):
    model = RegisteredModelFactory(owner=model_owner, risk_tier=2)
    assessment = _submit(model_owner, model, eu_class=EUAIActClass.PROHIBITED)
    request = services.risk_assessment_decide(
        actor=validator, assessment=assessment, tier=1
    ).approval_request
    # The status is not part of the frozen content; the gate is checked again on approval.
    RegisteredModel.objects.filter(pk=model.pk).update(status=LifecycleStatus.APPROVED)
    with pytest.raises(ApplicationError, match="retire it"):
        sign(request, validator2)
    assert RegisteredModel.objects.get(pk=model.pk).eu_ai_act_class != EUAIActClass.PROHIBITED


def test_a_prohibited_development_model_can_be_reclassified(model_owner, validator, validator2):
    model = RegisteredModelFactory(
        owner=model_owner, risk_tier=1, eu_ai_act_class=EUAIActClass.PROHIBITED
    )
    assessment = _submit(model_owner, model)
    sign(
        services.risk_assessment_decide(
            actor=validator, assessment=assessment, tier=3
        ).approval_request,
        validator2,
    )
    fresh = RegisteredModel.objects.get(pk=model.pk)
    assert (fresh.risk_tier, fresh.eu_ai_act_class) == (3, EUAIActClass.MINIMAL)


def test_the_assessor_never_decides_their_own_assessment(validator, owned_model):
    assessment = _submit(validator, owned_model)
    with pytest.raises(ApplicationError, match="another validator"):
        services.risk_assessment_decide(actor=validator, assessment=assessment, tier=3)
    assessment.refresh_from_db()
    assert assessment.status == RiskAssessmentStatus.PENDING


def test_a_withdrawn_proposal_may_be_made_again(model_owner, validator, validator2, owned_model):
    assessment = _submit(model_owner, owned_model)
    first = services.risk_assessment_decide(
        actor=validator, assessment=assessment, tier=3
    ).approval_request
    approval_withdraw(actor=validator, request=first, reason="Wrong model.")
    # The assessment still shows the proposal until a new one replaces it.
    assert RiskAssessment.objects.get(pk=assessment.pk).status == (
        RiskAssessmentStatus.AWAITING_APPROVAL
    )
    again = services.risk_assessment_decide(
        actor=validator2, assessment=assessment, tier=2, reason="Complaints history."
    )
    assert again.approval_request.pk != first.pk
    sign(again.approval_request, validator)
    assert RegisteredModel.objects.get(pk=owned_model.pk).risk_tier == 2
