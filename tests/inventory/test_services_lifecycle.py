"""Lifecycle transitions through the service: the state machine, roles, reasons, dates, audit."""

from __future__ import annotations

import itertools

import pytest
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction

from apps.audit.models import AuditEvent
from apps.audit.selectors import audit_chain_verify
from apps.core.errors import ApplicationError
from apps.inventory import services
from apps.inventory.choices import EUAIActClass, LifecycleStatus, VersionStage
from apps.inventory.models import RegisteredModel
from tests.factories import DeploymentFactory, ModelVersionFactory, RegisteredModelFactory

S = LifecycleStatus
LEGAL = {
    (S.DEVELOPMENT, S.VALIDATION),
    (S.DEVELOPMENT, S.RETIRED),
    (S.VALIDATION, S.DEVELOPMENT),
    (S.VALIDATION, S.APPROVED),
    (S.VALIDATION, S.RETIRED),
    (S.APPROVED, S.PRODUCTION),
    (S.APPROVED, S.DEVELOPMENT),
    (S.APPROVED, S.RETIRED),
    (S.PRODUCTION, S.VALIDATION),
    (S.PRODUCTION, S.RETIRED),
}
ILLEGAL = sorted(set(itertools.product(S.values, S.values)) - LEGAL)
DATE_FIELD = {
    S.VALIDATION: "validation_started_at",
    S.APPROVED: "approved_at",
    S.PRODUCTION: "deployed_at",
    S.RETIRED: "retired_at",
}


def _model(status: str, owner, **extra) -> RegisteredModel:
    """A model in ``status`` that meets every precondition for approval and production."""
    fields = {
        "status": status,
        "owner": owner,
        "risk_tier": 2,
        "eu_ai_act_class": EUAIActClass.MINIMAL,
    }
    fields.update(extra)
    model = RegisteredModelFactory(**fields)
    ModelVersionFactory(model=model, stage=VersionStage.PRODUCTION)
    return model


@pytest.mark.parametrize(("current", "target"), sorted(LEGAL))
def test_a_validator_makes_every_legal_transition(validator, model_owner, current, target):
    model = _model(current, model_owner)
    moved = services.registered_model_transition(
        actor=validator, model=model, target=target, reason="Periodic review outcome."
    )

    fresh = RegisteredModel.objects.get(pk=model.pk)
    assert fresh.status == target
    assert fresh.status_changed_at is not None
    assert moved.status == target
    if target in DATE_FIELD:
        assert getattr(fresh, DATE_FIELD[target]) is not None
    [event] = AuditEvent.objects.filter(object_type="inventory.registeredmodel")
    assert event.action == "transition"
    assert event.actor == validator
    assert event.model_ref == model.pk
    assert event.changes["status"] == {"before": current, "after": target}
    assert event.message == "Periodic review outcome."


@pytest.mark.parametrize(("current", "target"), ILLEGAL)
def test_every_illegal_transition_is_refused_with_a_message(
    validator, model_owner, current, target
):
    model = _model(current, model_owner)
    with pytest.raises(ApplicationError) as exc:
        services.registered_model_transition(
            actor=validator, model=model, target=target, reason="Trying."
        )
    assert exc.value.field_errors["status"]
    assert RegisteredModel.objects.get(pk=model.pk).status == current
    assert not AuditEvent.objects.exists()


def test_retirement_records_when_and_why(validator, model_owner):
    model = _model(S.PRODUCTION, model_owner)
    services.registered_model_transition(
        actor=validator, model=model, target=S.RETIRED, reason="  Replaced by v2 model.  "
    )
    fresh = RegisteredModel.objects.get(pk=model.pk)
    assert fresh.retired_at is not None
    assert fresh.retirement_reason == "Replaced by v2 model."
    [event] = AuditEvent.objects.filter(object_type="inventory.registeredmodel")
    assert event.changes["retirement_reason"] == {"before": "", "after": "Replaced by v2 model."}


@pytest.mark.parametrize(
    ("current", "target"),
    [(S.DEVELOPMENT, S.RETIRED), (S.VALIDATION, S.DEVELOPMENT), (S.PRODUCTION, S.VALIDATION)],
)
def test_retirement_and_backward_moves_need_a_reason(validator, model_owner, current, target):
    model = _model(current, model_owner)
    with pytest.raises(ApplicationError, match="Give a reason"):
        services.registered_model_transition(actor=validator, model=model, target=target)
    assert RegisteredModel.objects.get(pk=model.pk).status == current
    assert not AuditEvent.objects.exists()


def test_a_prohibited_model_is_never_approved(admin_user, model_owner):
    model = _model(S.VALIDATION, model_owner, risk_tier=1, eu_ai_act_class=EUAIActClass.PROHIBITED)
    with pytest.raises(ApplicationError, match="prohibited practice"):
        services.registered_model_transition(actor=admin_user, model=model, target=S.APPROVED)
    assert RegisteredModel.objects.get(pk=model.pk).status == S.VALIDATION
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize("status", [S.APPROVED, S.PRODUCTION])
def test_the_database_refuses_a_prohibited_model_in_approval_or_production(model_owner, status):
    model = RegisteredModelFactory(owner=model_owner, risk_tier=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        RegisteredModel.objects.filter(pk=model.pk).update(
            status=status, eu_ai_act_class=EUAIActClass.PROHIBITED
        )


def test_a_model_without_a_production_version_cannot_go_to_production(validator, model_owner):
    model = RegisteredModelFactory(
        status=S.APPROVED, owner=model_owner, risk_tier=3, eu_ai_act_class=EUAIActClass.MINIMAL
    )
    with pytest.raises(ApplicationError, match="Promote a version"):
        services.registered_model_transition(actor=validator, model=model, target=S.PRODUCTION)


def test_approval_needs_a_confirmed_tier(validator, model_owner):
    model = _model(S.VALIDATION, model_owner, risk_tier=None)
    with pytest.raises(ApplicationError, match="no confirmed risk tier"):
        services.registered_model_transition(actor=validator, model=model, target=S.APPROVED)


def test_the_owner_sends_their_model_to_validation(model_owner, owned_model):
    services.registered_model_transition(actor=model_owner, model=owned_model, target=S.VALIDATION)
    assert RegisteredModel.objects.get(pk=owned_model.pk).validation_started_at is not None


@pytest.mark.parametrize(
    ("current", "target"), [(S.VALIDATION, S.APPROVED), (S.APPROVED, S.PRODUCTION)]
)
def test_the_owner_cannot_approve_or_deploy_their_own_model(model_owner, current, target):
    model = _model(current, model_owner)
    with pytest.raises(ApplicationError, match="Only validators and administrators"):
        services.registered_model_transition(actor=model_owner, model=model, target=target)
    assert RegisteredModel.objects.get(pk=model.pk).status == current


@pytest.mark.parametrize(
    "persona", ["business_owner", "auditor", "viewer", "outsider", "other_model_owner"]
)
def test_others_cannot_move_a_model(persona, request, owned_model):
    with pytest.raises(PermissionDenied):
        services.registered_model_transition(
            actor=request.getfixturevalue(persona), model=owned_model, target=S.VALIDATION
        )
    assert RegisteredModel.objects.get(pk=owned_model.pk).status == S.DEVELOPMENT
    assert not AuditEvent.objects.exists()


def test_a_second_production_keeps_the_first_deployment_date(validator, model_owner):
    model = _model(S.APPROVED, model_owner)
    services.registered_model_transition(actor=validator, model=model, target=S.PRODUCTION)
    first = RegisteredModel.objects.get(pk=model.pk).deployed_at
    services.registered_model_transition(
        actor=validator, model=model, target=S.VALIDATION, reason="Revalidation."
    )
    services.registered_model_transition(actor=validator, model=model, target=S.APPROVED)
    services.registered_model_transition(actor=validator, model=model, target=S.PRODUCTION)
    assert RegisteredModel.objects.get(pk=model.pk).deployed_at == first
    assert AuditEvent.objects.count() == 4


def test_retirement_archives_live_versions_and_stops_deployments(validator, model_owner):
    model = _model(S.PRODUCTION, model_owner)
    live = model.versions.get(stage=VersionStage.PRODUCTION)
    deployment = DeploymentFactory(version=live, created_by=model_owner)
    services.registered_model_transition(
        actor=validator, model=model, target=S.RETIRED, reason="Replaced."
    )
    live.refresh_from_db()
    deployment.refresh_from_db()
    assert live.stage == VersionStage.ARCHIVED
    assert deployment.status == "inactive"
    kinds = set(AuditEvent.objects.values_list("object_type", flat=True))
    assert kinds == {
        "inventory.registeredmodel",
        "inventory.modelversion",
        "inventory.deployment",
    }
    assert audit_chain_verify().ok


def test_the_production_version_of_a_model_in_production_cannot_be_withdrawn(
    validator, model_owner
):
    model = _model(S.PRODUCTION, model_owner)
    live = model.versions.get(stage=VersionStage.PRODUCTION)
    with pytest.raises(ApplicationError, match="promote a replacement"):
        services.model_version_set_stage(actor=validator, version=live, stage=VersionStage.ARCHIVED)
    live.refresh_from_db()
    assert live.stage == VersionStage.PRODUCTION
