"""Quorum by tier: the effect happens only after the last required approval, atomically,
with audit events; the required approvers come from policy.POLICY."""

from __future__ import annotations

import pytest

from apps.approvals import policy
from apps.approvals.choices import ApprovalKind, ApproverRole, RequestStatus
from apps.approvals.models import Decision
from apps.audit.models import AuditEvent
from apps.audit.selectors import audit_chain_verify
from apps.inventory import services
from apps.inventory.choices import EUAIActClass, LifecycleStatus, VersionStage
from apps.inventory.models import ModelVersion, RegisteredModel
from tests.approvals.helpers import request_approval, sign, validate
from tests.factories import ModelVersionFactory, RegisteredModelFactory

pytestmark = pytest.mark.django_db

S = LifecycleStatus
KINDS = [ApprovalKind.VALIDATION_SIGNOFF, ApprovalKind.PROMOTION, ApprovalKind.RETIREMENT]
START = {
    ApprovalKind.VALIDATION_SIGNOFF: S.VALIDATION,
    ApprovalKind.PROMOTION: S.APPROVED,
    ApprovalKind.RETIREMENT: S.PRODUCTION,
}
END = {
    ApprovalKind.VALIDATION_SIGNOFF: S.APPROVED,
    ApprovalKind.PROMOTION: S.PRODUCTION,
    ApprovalKind.RETIREMENT: S.RETIRED,
}


def _world(kind, tier, *, model_owner, business_owner, validator):
    """The model in the status the kind starts from, and the request's subject."""
    model = RegisteredModelFactory(
        owner=model_owner,
        business_owner=business_owner,
        status=START[kind],
        risk_tier=tier,
        eu_ai_act_class=EUAIActClass.MINIMAL,
    )
    if kind == ApprovalKind.RETIREMENT:
        ModelVersionFactory(model=model, stage=VersionStage.PRODUCTION)
        return model, model
    version = ModelVersionFactory(model=model)
    if kind == ApprovalKind.PROMOTION and tier in (1, 2):
        validate(version, model_owner, validator)
    return model, version


def _effect_applied(kind, model, subject) -> bool:
    model = RegisteredModel.objects.get(pk=model.pk)
    if kind == ApprovalKind.RETIREMENT:
        return (
            model.status == S.RETIRED
            and not model.versions.filter(stage=VersionStage.PRODUCTION).exists()
        )
    version = ModelVersion.objects.get(pk=subject.pk)
    if kind == ApprovalKind.PROMOTION:
        return model.status == S.PRODUCTION and version.stage == VersionStage.PRODUCTION
    return model.status == S.APPROVED and version.is_locked


@pytest.mark.parametrize("tier", policy.ALL_TIERS)
@pytest.mark.parametrize("kind", KINDS)
def test_the_effect_waits_for_the_last_required_approval(
    kind, tier, model_owner, business_owner, validator
):
    model, subject = _world(
        kind, tier, model_owner=model_owner, business_owner=business_owner, validator=validator
    )
    approver = {ApproverRole.BUSINESS_OWNER: business_owner, ApproverRole.VALIDATOR: validator}
    pending = request_approval(kind, subject, model_owner, justification="Time to change.")
    required = policy.POLICY[kind][tier]
    assert pending.required_slots == list(required)
    assert pending.open_slots == list(required)
    assert pending.tier_at_request == tier

    *first, last = required
    for n, slot in enumerate(first, start=1):
        sign(pending, approver[slot])
        pending.refresh_from_db()
        assert pending.status == RequestStatus.PENDING
        # The engine keeps what is still needed, so the inbox reads the request alone.
        assert pending.open_slots == list(required[n:])
        assert not _effect_applied(kind, model, subject)
        assert RegisteredModel.objects.get(pk=model.pk).status == START[kind]

    before = AuditEvent.objects.count()
    sign(pending, approver[last])
    pending.refresh_from_db()
    assert pending.status == RequestStatus.APPROVED
    assert pending.open_slots == []
    assert pending.closing_note == "Quorum met."
    assert _effect_applied(kind, model, subject)
    assert RegisteredModel.objects.get(pk=model.pk).status == END[kind]

    # The last decision, the effect and the closing are audited together, by the last approver.
    new = list(AuditEvent.objects.order_by("sequence")[before:])
    assert new[0].action == "decide"
    assert new[-1].object_type == "approvals.approvalrequest"
    assert new[-1].changes == {"status": {"before": "pending", "after": "approved"}}
    moves = [e for e in new if e.object_type == "inventory.registeredmodel"]
    assert [m.changes["status"]["after"] for m in moves] == [END[kind]]
    assert {e.actor for e in new} == {approver[last]}
    assert {e.model_ref for e in new} == {model.pk}
    assert audit_chain_verify().ok


def test_a_failing_effect_leaves_the_last_decision_unrecorded(
    monkeypatch, model_owner, business_owner, validator
):
    model, version = _world(
        ApprovalKind.PROMOTION,
        2,
        model_owner=model_owner,
        business_owner=business_owner,
        validator=validator,
    )
    pending = request_approval(ApprovalKind.PROMOTION, version, model_owner)
    sign(pending, validator)
    real_promote = services.promote_version

    def promote_then_fail(**kwargs):
        real_promote(**kwargs)
        raise RuntimeError("storage went away half-way")

    monkeypatch.setattr(services, "promote_version", promote_then_fail)
    decisions, events = Decision.objects.count(), AuditEvent.objects.count()
    with pytest.raises(RuntimeError):
        sign(pending, business_owner)

    pending.refresh_from_db()
    assert pending.status == RequestStatus.PENDING
    assert Decision.objects.count() == decisions
    assert AuditEvent.objects.count() == events
    assert ModelVersion.objects.get(pk=version.pk).stage == VersionStage.DEVELOPMENT
    assert RegisteredModel.objects.get(pk=model.pk).status == S.APPROVED


def test_promotion_archives_the_previous_production_version(model_owner, business_owner, validator):
    model, version = _world(
        ApprovalKind.PROMOTION,
        3,
        model_owner=model_owner,
        business_owner=business_owner,
        validator=validator,
    )
    old = ModelVersionFactory(model=model, stage=VersionStage.PRODUCTION)
    pending = request_approval(ApprovalKind.PROMOTION, version, model_owner)
    sign(pending, business_owner)
    old.refresh_from_db()
    assert old.stage == VersionStage.ARCHIVED
    assert model.versions.get(stage=VersionStage.PRODUCTION) == version
