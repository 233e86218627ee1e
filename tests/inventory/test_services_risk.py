"""Risk tiering through the services: questionnaire, validator's confirm / override, audit."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from apps.audit.models import AuditEvent
from apps.core.errors import ApplicationError
from apps.inventory import services
from apps.inventory.choices import EUAIActClass, LifecycleStatus, RiskAssessmentStatus
from apps.inventory.models import RegisteredModel, RiskAssessment
from tests.factories import RegisteredModelFactory

LOW_ANSWERS = {
    "financial_exposure": "low",
    "customer_impact": "low",
    "regulatory_use": "low",
    "automation": "low",
    "complexity": "medium",
}


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


def test_a_validator_confirms_the_suggested_tier(model_owner, validator, owned_model):
    assessment = _submit(model_owner, owned_model)
    decided = services.risk_assessment_decide(actor=validator, assessment=assessment, tier=3)

    assert decided.status == RiskAssessmentStatus.CONFIRMED
    assert (decided.decided_tier, decided.decided_by) == (3, validator)
    assert decided.decided_at is not None
    model = RegisteredModel.objects.get(pk=owned_model.pk)
    assert model.risk_tier == 3
    assert model.eu_ai_act_class == EUAIActClass.MINIMAL
    assert (model.risk_assessed_by, model.risk_assessed_at) == (validator, decided.decided_at)
    assert model.risk_tier_rationale.startswith("Suggested Tier 3")
    decide_event, model_event = AuditEvent.objects.order_by("sequence")[1:]
    assert decide_event.action == "decide"
    assert decide_event.object_type == "inventory.riskassessment"
    assert decide_event.changes["status"] == {"before": "pending", "after": "confirmed"}
    assert model_event.action == "update"
    assert model_event.object_type == "inventory.registeredmodel"
    assert model_event.changes["risk_tier"] == {"before": None, "after": 3}
    assert all(e.actor == validator for e in (decide_event, model_event))


def test_a_validator_overrides_with_a_reason(model_owner, validator, owned_model):
    assessment = _submit(model_owner, owned_model)
    decided = services.risk_assessment_decide(
        actor=validator, assessment=assessment, tier=2, reason="Customer complaints history."
    )
    assert decided.status == RiskAssessmentStatus.OVERRIDDEN
    assert decided.decision_reason == "Customer complaints history."
    model = RegisteredModel.objects.get(pk=owned_model.pk)
    assert model.risk_tier == 2
    assert "Overridden to Tier 2 by the validator: Customer complaints history." in (
        model.risk_tier_rationale
    )
    assert AuditEvent.objects.filter(action="decide").get().message == (
        "Customer complaints history."
    )


def test_an_override_without_a_reason_is_refused(model_owner, validator, owned_model):
    assessment = _submit(model_owner, owned_model)
    with pytest.raises(ApplicationError) as exc:
        services.risk_assessment_decide(actor=validator, assessment=assessment, tier=1, reason=" ")
    assert "reason" in exc.value.field_errors
    assert RiskAssessment.objects.get(pk=assessment.pk).status == RiskAssessmentStatus.PENDING
    assert RegisteredModel.objects.get(pk=owned_model.pk).risk_tier is None
    assert AuditEvent.objects.count() == 1


def test_eu_high_risk_forces_tier_1(model_owner, validator, owned_model):
    assessment = _submit(model_owner, owned_model, eu_class=EUAIActClass.HIGH_RISK, annex="5(b)")
    assert assessment.suggested_tier == 1
    with pytest.raises(ApplicationError) as exc:
        services.risk_assessment_decide(
            actor=validator, assessment=assessment, tier=2, reason="Looks harmless to me."
        )
    assert "tier" in exc.value.field_errors
    assert RegisteredModel.objects.get(pk=owned_model.pk).risk_tier is None

    services.risk_assessment_decide(actor=validator, assessment=assessment, tier=1)
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


def test_an_assessment_is_decided_only_once(model_owner, validator, owned_model):
    assessment = _submit(model_owner, owned_model)
    services.risk_assessment_decide(actor=validator, assessment=assessment, tier=3)
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


def test_each_decision_is_kept_as_a_dated_record(model_owner, validator, admin_user, owned_model):
    first = _submit(model_owner, owned_model)
    services.risk_assessment_decide(actor=validator, assessment=first, tier=3)
    second = _submit(model_owner, owned_model, answers={**LOW_ANSWERS, "customer_impact": "high"})
    services.risk_assessment_decide(actor=admin_user, assessment=second, tier=2)

    records = list(RiskAssessment.objects.filter(model=owned_model).order_by("assessed_at"))
    assert [(r.decided_tier, r.decided_by) for r in records] == [(3, validator), (2, admin_user)]
    assert all(r.decided_at and r.assessed_at for r in records)
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
    assert AuditEvent.objects.count() == 1


def test_the_assessor_never_decides_their_own_assessment(validator, owned_model):
    assessment = _submit(validator, owned_model)
    with pytest.raises(ApplicationError, match="another validator"):
        services.risk_assessment_decide(actor=validator, assessment=assessment, tier=3)
    assessment.refresh_from_db()
    assert assessment.status == RiskAssessmentStatus.PENDING
