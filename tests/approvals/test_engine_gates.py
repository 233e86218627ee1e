"""Gates: validation before a Tier 1-2 promotion, EU-prohibited never approved, an overdue
periodic review blocks promotion unless an administrator lifts the gate (audited, expiring)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from apps.approvals.choices import ApprovalKind, RequestStatus
from apps.approvals.models import ApprovalRequest, Decision, GateOverride
from apps.approvals.selectors import active_gate_override
from apps.approvals.services import gate_lift
from apps.audit.models import AuditEvent
from apps.core.errors import ApplicationError
from apps.inventory import services
from apps.inventory.choices import EUAIActClass, LifecycleStatus, VersionStage
from apps.inventory.models import ModelVersion, RegisteredModel
from tests.approvals.helpers import promote, request_approval, sign, validate
from tests.factories import ModelVersionFactory

pytestmark = pytest.mark.django_db

GATE = GateOverride.Gate.OVERDUE_REVIEW
ANSWERS = {
    "financial_exposure": "high",
    "customer_impact": "high",
    "regulatory_use": "high",
    "automation": "high",
    "complexity": "high",
}


def _setup(model, *, status=LifecycleStatus.APPROVED, tier=3, review_in_days=None):
    model.status = status
    model.risk_tier = tier
    model.eu_ai_act_class = EUAIActClass.MINIMAL
    model.next_review_date = (
        None if review_in_days is None else timezone.localdate() + timedelta(days=review_in_days)
    )
    model.save()
    return ModelVersionFactory(model=model, version="1.0.0")


# --- validation before promotion ---------------------------------------------------------


@pytest.mark.parametrize("tier", [1, 2])
def test_a_tier_1_2_promotion_needs_an_approved_validation(
    tier, model_owner, validator, business_owner, owned_model
):
    version = _setup(owned_model, tier=tier)
    with pytest.raises(ApplicationError, match=r"need an approved validation of 1\.0\.0"):
        request_approval(ApprovalKind.PROMOTION, version, model_owner)
    assert not ApprovalRequest.objects.filter(kind=ApprovalKind.PROMOTION).exists()

    validate(version, model_owner, validator)
    promotion = promote(version, model_owner, [business_owner, validator])
    assert promotion.status == RequestStatus.APPROVED


def test_a_pending_or_other_versions_validation_does_not_count(model_owner, validator, owned_model):
    version = _setup(owned_model, tier=2)
    other = ModelVersionFactory(model=owned_model, version="0.9.0")
    validate(other, model_owner, validator)
    request_approval(ApprovalKind.VALIDATION_SIGNOFF, version, model_owner)  # still pending
    with pytest.raises(ApplicationError, match="approved validation"):
        request_approval(ApprovalKind.PROMOTION, version, model_owner)


def test_a_tier_3_promotion_needs_no_validation(model_owner, business_owner, owned_model):
    version = _setup(owned_model, tier=3)
    promote(version, model_owner, [business_owner])
    assert ModelVersion.objects.get(pk=version.pk).stage == VersionStage.PRODUCTION


# --- EU prohibited -----------------------------------------------------------------------


@pytest.mark.parametrize("kind", [ApprovalKind.VALIDATION_SIGNOFF, ApprovalKind.PROMOTION])
def test_a_prohibited_model_cannot_even_be_requested(kind, model_owner, owned_model):
    version = _setup(owned_model, status=LifecycleStatus.VALIDATION, tier=1)
    owned_model.eu_ai_act_class = EUAIActClass.PROHIBITED
    owned_model.save()
    with pytest.raises(ApplicationError, match="prohibited practice"):
        request_approval(kind, version, model_owner)
    assert not ApprovalRequest.objects.exists()


def test_a_model_classed_prohibited_after_the_request_is_never_approved(
    model_owner, validator, admin_user, owned_model
):
    version = _setup(owned_model, status=LifecycleStatus.VALIDATION, tier=1)
    pending = request_approval(ApprovalKind.VALIDATION_SIGNOFF, version, model_owner)
    # Reassessed as a prohibited practice; the tier stays 1, so the frozen content still holds.
    assessment = services.risk_assessment_submit(
        actor=model_owner,
        model=owned_model,
        answers=ANSWERS,
        eu_ai_act_class=EUAIActClass.PROHIBITED,
    )
    proposed = services.risk_assessment_decide(actor=admin_user, assessment=assessment, tier=1)
    sign(proposed.approval_request, validator)
    assert RegisteredModel.objects.get(pk=owned_model.pk).eu_ai_act_class == "prohibited"

    with pytest.raises(ApplicationError, match="can never be approved"):
        sign(pending, validator)
    pending.refresh_from_db()
    assert pending.status == RequestStatus.PENDING
    assert not pending.decisions.exists()
    assert RegisteredModel.objects.get(pk=owned_model.pk).status == LifecycleStatus.VALIDATION


# --- overdue periodic review -------------------------------------------------------------


def test_an_overdue_review_blocks_a_promotion_request(model_owner, owned_model):
    version = _setup(owned_model, review_in_days=-1)
    with pytest.raises(ApplicationError, match="is overdue"):
        request_approval(ApprovalKind.PROMOTION, version, model_owner)


def test_a_review_due_today_does_not_block(model_owner, business_owner, owned_model):
    version = _setup(owned_model, review_in_days=0)
    promote(version, model_owner, [business_owner])
    assert ModelVersion.objects.get(pk=version.pk).stage == VersionStage.PRODUCTION


def test_a_review_falling_overdue_blocks_the_pending_approval(
    model_owner, business_owner, validator, owned_model
):
    version = _setup(owned_model, review_in_days=10)
    pending = request_approval(ApprovalKind.PROMOTION, version, model_owner)
    services.registered_model_update(
        actor=validator,
        model=owned_model,
        next_review_date=timezone.localdate() - timedelta(days=3),
    )
    with pytest.raises(ApplicationError, match="is overdue"):
        sign(pending, business_owner)
    assert not Decision.objects.exists()


def test_an_admin_lifts_the_gate_with_a_reason_and_it_is_audited(
    admin_user, model_owner, business_owner, owned_model
):
    version = _setup(owned_model, review_in_days=-5)
    override = gate_lift(
        actor=admin_user,
        model=owned_model,
        gate=GATE,
        reason="  Regulator-mandated fix; review booked for next week.  ",
        days=7,
    )
    assert override.reason == "Regulator-mandated fix; review booked for next week."
    assert override.expires_at - override.lifted_at == timedelta(days=7)
    assert active_gate_override(model=owned_model, gate=GATE) == override
    event = AuditEvent.objects.get(object_type="approvals.gateoverride")
    assert (event.actor, event.model_ref) == (admin_user, owned_model.pk)
    assert event.message == override.reason
    assert event.changes["gate"] == {"before": None, "after": GATE}

    promote(version, model_owner, [business_owner])
    assert ModelVersion.objects.get(pk=version.pk).stage == VersionStage.PRODUCTION


@pytest.mark.parametrize(
    "persona", ["validator", "business_owner", "model_owner", "auditor", "viewer"]
)
def test_only_admins_lift_a_gate(persona, request, owned_model):
    _setup(owned_model, review_in_days=-5)
    with pytest.raises(PermissionDenied):
        gate_lift(
            actor=request.getfixturevalue(persona),
            model=owned_model,
            gate=GATE,
            reason="Please.",
        )
    assert not GateOverride.objects.exists()
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize(
    ("changes", "field"),
    [({"reason": "   "}, "reason"), ({"gate": "all_gates"}, "gate"), ({"days": 91}, "days")],
)
def test_a_lift_needs_a_reason_a_known_gate_and_a_bounded_time(
    admin_user, owned_model, changes, field
):
    kwargs = {"gate": GATE, "reason": "Fix.", "days": 30, **changes}
    with pytest.raises(ApplicationError) as exc:
        gate_lift(actor=admin_user, model=owned_model, **kwargs)
    assert exc.value.field_errors[field]
    assert not GateOverride.objects.exists()


def test_the_override_expires(admin_user, model_owner, business_owner, owned_model):
    version = _setup(owned_model, review_in_days=-5)
    override = gate_lift(actor=admin_user, model=owned_model, gate=GATE, reason="Fix.", days=1)
    pending = request_approval(ApprovalKind.PROMOTION, version, model_owner)
    # A day later the override has run out; the gate holds again at the decision.
    GateOverride.objects.filter(pk=override.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert active_gate_override(model=owned_model, gate=GATE) is None
    with pytest.raises(ApplicationError, match="is overdue"):
        sign(pending, business_owner)
    assert ModelVersion.objects.get(pk=version.pk).stage == VersionStage.DEVELOPMENT
    with pytest.raises(ApplicationError, match="is overdue"):
        request_approval(
            ApprovalKind.PROMOTION, ModelVersionFactory(model=owned_model), model_owner
        )


def test_an_override_on_another_model_does_not_lift_this_gate(
    admin_user, model_owner, owned_model, foreign_model
):
    version = _setup(owned_model, review_in_days=-5)
    gate_lift(actor=admin_user, model=foreign_model, gate=GATE, reason="Elsewhere.")
    with pytest.raises(ApplicationError, match="is overdue"):
        request_approval(ApprovalKind.PROMOTION, version, model_owner)
