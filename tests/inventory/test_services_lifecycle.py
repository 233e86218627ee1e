"""Lifecycle transitions through the service: the state machine, roles, reasons, dates, audit."""

from __future__ import annotations

import itertools

import pytest
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction

from apps.approvals.choices import ApprovalKind, RequestStatus
from apps.audit.models import AuditEvent
from apps.audit.selectors import audit_chain_verify
from apps.core.errors import ApplicationError
from apps.inventory import services
from apps.inventory.choices import EUAIActClass, LifecycleStatus, VersionStage
from apps.inventory.models import RegisteredModel
from tests.approvals.helpers import (
    PASSWORD,
    promote,
    request_approval,
    retire,
    sign,
    validate,
)
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
# Sign-offs: legal moves that only an approved request makes (validation sign-off, promotion,
# retirement), never a direct move.
GOVERNED = {
    (S.VALIDATION, S.APPROVED): "request a validation sign-off",
    (S.APPROVED, S.PRODUCTION): "request a promotion",
    (S.APPROVED, S.RETIRED): "request a retirement",
    (S.PRODUCTION, S.RETIRED): "request a retirement",
}
DIRECT = LEGAL - set(GOVERNED)
# Direct moves that take a model out of production or end it: signed with the password.
SIGNED = {(S.DEVELOPMENT, S.RETIRED), (S.VALIDATION, S.RETIRED), (S.PRODUCTION, S.VALIDATION)}
DATE_FIELD = {
    S.VALIDATION: "validation_started_at",
    S.APPROVED: "approved_at",
    S.PRODUCTION: "deployed_at",
    S.RETIRED: "retired_at",
}


def _model(status: str, owner, business_owner=None, **extra) -> RegisteredModel:
    """A model in ``status`` that meets every precondition for approval and production."""
    fields = {
        "status": status,
        "owner": owner,
        **({"business_owner": business_owner} if business_owner else {}),
        "risk_tier": 2,
        "eu_ai_act_class": EUAIActClass.MINIMAL,
    }
    fields.update(extra)
    model = RegisteredModelFactory(**fields)
    ModelVersionFactory(model=model, stage=VersionStage.PRODUCTION)
    return model


@pytest.mark.parametrize(("current", "target"), sorted(DIRECT))
def test_a_validator_makes_every_direct_transition(validator, model_owner, current, target):
    model = _model(current, model_owner)
    moved = services.registered_model_transition(
        actor=validator,
        model=model,
        target=target,
        reason="Periodic review outcome.",
        password=PASSWORD,
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
    if (current, target) in SIGNED:
        assert event.message == (
            f"Periodic review outcome. Signed electronically by {validator.username} "
            "(password re-entered)."
        )
    else:
        assert event.message == "Periodic review outcome."


@pytest.mark.parametrize(("current", "target"), sorted(GOVERNED))
@pytest.mark.parametrize("persona", ["validator", "admin_user", "model_owner"])
def test_a_sign_off_is_never_a_direct_move(request, model_owner, persona, current, target):
    model = _model(current, model_owner)
    with pytest.raises(ApplicationError) as exc:
        services.registered_model_transition(
            actor=request.getfixturevalue(persona), model=model, target=target, reason="Now."
        )
    assert GOVERNED[(current, target)] in exc.value.field_errors["status"][0]
    assert RegisteredModel.objects.get(pk=model.pk).status == current
    assert not AuditEvent.objects.exists()


def _transition_event() -> AuditEvent:
    [event] = AuditEvent.objects.filter(
        object_type="inventory.registeredmodel", action="transition"
    )
    return event


def test_an_approved_validation_sign_off_approves_the_model(validator, model_owner, business_owner):
    model = _model(S.VALIDATION, model_owner, business_owner)
    version = ModelVersionFactory(model=model)
    signoff = validate(version, model_owner, validator)

    fresh = RegisteredModel.objects.get(pk=model.pk)
    assert signoff.status == RequestStatus.APPROVED
    assert fresh.status == S.APPROVED
    assert fresh.approved_at is not None
    event = _transition_event()
    assert (event.actor, event.model_ref) == (validator, model.pk)
    assert event.changes["status"] == {"before": S.VALIDATION, "after": S.APPROVED}
    assert event.message == f"Validation of {version.version} signed off (request #{signoff.pk})."


def test_an_approved_promotion_puts_the_model_into_production(
    validator, model_owner, business_owner
):
    model = _model(S.APPROVED, model_owner, business_owner)
    version = ModelVersionFactory(model=model)
    validate(version, model_owner, validator)
    promotion = promote(version, model_owner, [business_owner, validator])

    fresh = RegisteredModel.objects.get(pk=model.pk)
    assert fresh.status == S.PRODUCTION
    assert fresh.deployed_at is not None
    assert fresh.versions.get(stage=VersionStage.PRODUCTION) == version
    event = _transition_event()
    assert event.changes["status"] == {"before": S.APPROVED, "after": S.PRODUCTION}
    assert event.message == f"Promotion approved (request #{promotion.pk})."
    assert audit_chain_verify().ok


@pytest.mark.parametrize("current", [S.APPROVED, S.PRODUCTION])
def test_an_approved_retirement_retires_the_model(validator, model_owner, business_owner, current):
    model = _model(current, model_owner, business_owner)
    retirement = retire(model, model_owner, [business_owner], "Replaced by the 2026 model.")

    fresh = RegisteredModel.objects.get(pk=model.pk)
    assert fresh.status == S.RETIRED
    assert fresh.retired_at is not None
    event = _transition_event()
    assert event.changes["status"] == {"before": current, "after": S.RETIRED}
    assert event.actor == business_owner
    assert retirement.status == RequestStatus.APPROVED


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


def test_retirement_records_when_and_why(model_owner, business_owner):
    model = _model(S.PRODUCTION, model_owner, business_owner)
    retirement = retire(model, model_owner, [business_owner], "  Replaced by v2 model.  ")
    fresh = RegisteredModel.objects.get(pk=model.pk)
    reason = f"Replaced by v2 model. (retirement approved, request #{retirement.pk})"
    assert fresh.retired_at is not None
    assert fresh.retirement_reason == reason
    event = _transition_event()
    assert event.changes["retirement_reason"] == {"before": "", "after": reason}


def test_a_direct_retirement_from_development_records_when_and_why(validator, model_owner):
    model = _model(S.DEVELOPMENT, model_owner)
    services.registered_model_transition(
        actor=validator,
        model=model,
        target=S.RETIRED,
        reason="  Abandoned prototype.  ",
        password=PASSWORD,
    )
    fresh = RegisteredModel.objects.get(pk=model.pk)
    assert fresh.retired_at is not None
    assert fresh.retirement_reason == "Abandoned prototype."
    event = _transition_event()
    assert event.changes["retirement_reason"] == {"before": "", "after": "Abandoned prototype."}


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
    with pytest.raises(ApplicationError, match="request a validation sign-off"):
        services.registered_model_transition(actor=admin_user, model=model, target=S.APPROVED)
    with pytest.raises(ApplicationError, match="prohibited practice"):
        request_approval(ApprovalKind.VALIDATION_SIGNOFF, model.versions.get(), model_owner)
    with pytest.raises(ApplicationError, match="prohibited practice"), transaction.atomic():
        services.apply_transition(actor=admin_user, model=model, target=S.APPROVED)
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
    # Only an approved promotion moves a model into production, and the move it applies
    # still checks the state machine.
    with pytest.raises(ApplicationError, match="Promote a version"), transaction.atomic():
        model = RegisteredModel.objects.select_for_update().get(pk=model.pk)
        services.apply_transition(actor=validator, model=model, target=S.PRODUCTION)
    assert RegisteredModel.objects.get(pk=model.pk).status == S.APPROVED


def test_approval_needs_a_confirmed_tier(validator, model_owner):
    model = _model(S.VALIDATION, model_owner, risk_tier=None)
    with pytest.raises(ApplicationError, match="Confirm the model's risk tier"):
        request_approval(ApprovalKind.VALIDATION_SIGNOFF, model.versions.get(), model_owner)
    with pytest.raises(ApplicationError, match="no confirmed risk tier"), transaction.atomic():
        services.apply_transition(actor=validator, model=model, target=S.APPROVED)
    assert RegisteredModel.objects.get(pk=model.pk).status == S.VALIDATION


def test_the_owner_sends_their_model_to_validation(model_owner, owned_model):
    services.registered_model_transition(actor=model_owner, model=owned_model, target=S.VALIDATION)
    assert RegisteredModel.objects.get(pk=owned_model.pk).validation_started_at is not None


@pytest.mark.parametrize(
    ("current", "target", "kind"),
    [
        (S.VALIDATION, S.APPROVED, ApprovalKind.VALIDATION_SIGNOFF),
        (S.APPROVED, S.PRODUCTION, ApprovalKind.PROMOTION),
    ],
)
def test_the_owner_cannot_approve_or_deploy_their_own_model(
    model_owner, validator, current, target, kind
):
    model = _model(current, model_owner, risk_tier=3)
    with pytest.raises(ApplicationError, match="request a"):
        services.registered_model_transition(actor=model_owner, model=model, target=target)
    version = ModelVersionFactory(model=model)
    pending = request_approval(kind, version, model_owner)
    with pytest.raises(PermissionDenied):
        sign(pending, model_owner)
    assert not pending.decisions.exists()
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


def test_a_second_production_keeps_the_first_deployment_date(
    validator, model_owner, business_owner
):
    model = _model(S.APPROVED, model_owner, business_owner)
    version = ModelVersionFactory(model=model)
    validate(version, model_owner, validator)
    promote(version, model_owner, [business_owner, validator])
    first = RegisteredModel.objects.get(pk=model.pk).deployed_at
    services.registered_model_transition(
        actor=validator, model=model, target=S.VALIDATION, reason="Revalidation.", password=PASSWORD
    )
    # The production version is revalidated and promoted again: the model returns to
    # production with the same version.
    validate(version, model_owner, validator)
    promote(version, model_owner, [business_owner, validator])
    fresh = RegisteredModel.objects.get(pk=model.pk)
    assert fresh.status == S.PRODUCTION
    assert fresh.deployed_at == first
    assert fresh.versions.get(stage=VersionStage.PRODUCTION) == version
    moves = AuditEvent.objects.filter(object_type="inventory.registeredmodel")
    assert [e.changes["status"]["after"] for e in moves.order_by("sequence")] == [
        S.PRODUCTION,
        S.VALIDATION,
        S.APPROVED,
        S.PRODUCTION,
    ]


def test_retirement_archives_live_versions_and_stops_deployments(model_owner, business_owner):
    model = _model(S.PRODUCTION, model_owner, business_owner)
    live = model.versions.get(stage=VersionStage.PRODUCTION)
    deployment = DeploymentFactory(version=live, created_by=model_owner)
    retire(model, model_owner, [business_owner], "Replaced.")
    live.refresh_from_db()
    deployment.refresh_from_db()
    assert live.stage == VersionStage.ARCHIVED
    assert deployment.status == "inactive"
    kinds = set(AuditEvent.objects.values_list("object_type", flat=True))
    assert kinds == {
        "approvals.approvalrequest",
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


# --- the signature of moves out of production and retirements ----------------------------


@pytest.mark.parametrize(("current", "target"), sorted(SIGNED))
def test_a_signed_move_needs_the_password(validator, model_owner, current, target):
    model = _model(current, model_owner)
    for password in ("", "not-the-password"):
        with pytest.raises(ApplicationError, match="password is not correct") as refused:
            services.registered_model_transition(
                actor=validator, model=model, target=target, reason="Why.", password=password
            )
        assert "password" in refused.value.field_errors
    assert RegisteredModel.objects.get(pk=model.pk).status == current
    [failed] = AuditEvent.objects.all()  # the empty one is not counted, the wrong one is
    assert failed.action == AuditEvent.Action.SIGNATURE_FAILED
    assert failed.object_id == str(model.pk) and "moving" in failed.message


def test_no_signature_is_asked_for_a_move_that_would_be_refused(validator, model_owner):
    model = _model(S.PRODUCTION, model_owner)
    with pytest.raises(ApplicationError, match="Give a reason"):
        services.registered_model_transition(
            actor=validator, model=model, target=S.VALIDATION, password="wrong"
        )
    assert not AuditEvent.objects.exists()  # no failed signature recorded


@pytest.mark.parametrize(("current", "target"), sorted(DIRECT - SIGNED))
def test_ordinary_moves_need_no_password(validator, model_owner, current, target):
    model = _model(current, model_owner)
    services.registered_model_transition(
        actor=validator, model=model, target=target, reason="Rework."
    )
    assert RegisteredModel.objects.get(pk=model.pk).status == target
