"""Registered-model services: create, update, delete; audit events, permissions, atomicity;
who may be named on a model (apps/inventory/accountability.py); discover and claim."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from apps.audit import services as audit_services
from apps.audit.models import AuditEvent
from apps.audit.selectors import audit_chain_verify
from apps.core import context, roles
from apps.core.errors import ApplicationError
from apps.inventory import accountability, services
from apps.inventory.models import RegisteredModel
from apps.inventory.services import registered_models
from tests.factories import (
    BusinessUnitFactory,
    ModelVersionFactory,
    RegisteredModelFactory,
    UserFactory,
)
from tests.inventory.seats import MISFITS, SEATS, misfit, two_hats


def _events() -> list[AuditEvent]:
    return list(AuditEvent.objects.order_by("sequence"))


def _create(actor, **overrides) -> RegisteredModel:
    data = {
        "slug": "failed-delivery",
        "name": "Failed-delivery predictor",
        "purpose": "Predict parcels at risk of failed delivery.",
        "business_unit": BusinessUnitFactory(name="Logistics", code="logistics"),
        "business_owner": UserFactory(username="bo.logistics", roles=[roles.BUSINESS_OWNER]),
    }
    data.update(overrides)
    return services.registered_model_create(actor=actor, **data)


# --- create ------------------------------------------------------------------------------


def test_it_creates_a_model_and_records_one_create_event(model_owner):
    with context.bind(request_id="req-create-1", client_ip="203.0.113.7"):
        model = _create(model_owner, developers=[model_owner])

    [event] = _events()
    assert event.action == "create"
    assert event.actor == model_owner
    assert event.actor_username == "mo.owner"
    assert (event.object_type, event.object_id) == ("inventory.registeredmodel", str(model.pk))
    assert event.object_repr == "Failed-delivery predictor"
    assert event.model_ref == model.pk
    assert event.request_id == "req-create-1"
    assert event.client_ip == "203.0.113.7"
    assert event.changes["slug"] == {"before": None, "after": "failed-delivery"}
    assert event.changes["owner"] == {"before": None, "after": model_owner.pk}
    assert event.changes["developers"] == {"before": None, "after": [model_owner.pk]}
    assert event.changes["status"] == {"before": None, "after": "development"}
    assert event.sequence == 1
    assert audit_chain_verify().ok


def test_it_defaults_the_owner_to_the_actor_and_starts_in_development(model_owner):
    model = _create(model_owner)
    assert model.owner == model_owner
    assert model.created_by == model_owner
    assert model.status == "development"
    assert model.status_changed_at is not None
    assert model.risk_tier is None


def test_events_outside_a_request_get_a_blank_context(model_owner):
    _create(model_owner)
    [event] = _events()
    assert (event.request_id, event.client_ip) == ("", "")


@pytest.mark.parametrize(
    "persona", ["validator", "business_owner", "auditor", "viewer", "outsider"]
)
def test_only_admins_and_model_owners_register_models(persona, request):
    actor = request.getfixturevalue(persona)
    with pytest.raises(PermissionDenied):
        _create(actor)
    assert not RegisteredModel.objects.exists()
    assert not AuditEvent.objects.exists()


def test_an_admin_registers_a_model(admin_user):
    assert _create(admin_user).owner == admin_user


def test_a_duplicate_slug_is_refused_with_a_field_message(model_owner, owned_model):
    with pytest.raises(ApplicationError) as exc:
        _create(model_owner, slug=owned_model.slug)
    assert "slug" in exc.value.field_errors
    assert RegisteredModel.objects.count() == 1
    assert not AuditEvent.objects.exists()


def test_invalid_values_are_refused_with_field_messages_and_nothing_is_written(model_owner):
    with pytest.raises(ApplicationError) as exc:
        _create(model_owner, slug="Not A Slug", name="x")
    assert {"slug", "name"} <= set(exc.value.field_errors)
    assert not RegisteredModel.objects.exists()
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize(
    "field", ["risk_tier", "eu_ai_act_class", "status", "approved_at", "created_by"]
)
def test_governance_fields_cannot_be_set_on_create(model_owner, field):
    with pytest.raises(ApplicationError) as exc:
        _create(model_owner, **{field: None})
    assert field in exc.value.field_errors
    assert not RegisteredModel.objects.exists()


# --- update ------------------------------------------------------------------------------


def test_it_records_only_the_changed_fields(model_owner, owned_model):
    with context.bind(request_id="req-upd", client_ip="198.51.100.4"):
        model = services.registered_model_update(
            actor=model_owner, model=owned_model, purpose="A new purpose.", limitations="Some."
        )

    assert model.purpose == "A new purpose."
    [event] = _events()
    assert event.action == "update"
    assert event.actor == model_owner
    assert event.object_id == str(owned_model.pk)
    assert event.model_ref == owned_model.pk
    assert event.changes == {
        "limitations": {"before": "", "after": "Some."},
        "purpose": {"before": "Predict things for a test.", "after": "A new purpose."},
    }
    assert (event.request_id, event.client_ip) == ("req-upd", "198.51.100.4")


def test_an_update_that_changes_nothing_records_nothing(model_owner, owned_model):
    services.registered_model_update(
        actor=model_owner, model=owned_model, purpose=owned_model.purpose
    )
    assert not AuditEvent.objects.exists()


def test_changing_developers_is_audited(model_owner, owned_model, other_model_owner):
    services.registered_model_update(
        actor=model_owner, model=owned_model, developers=[other_model_owner]
    )
    [event] = _events()
    assert event.changes == {"developers": {"before": [], "after": [other_model_owner.pk]}}


@pytest.mark.parametrize("persona", ["admin_user", "validator", "model_owner", "business_owner"])
def test_who_may_edit_a_model_they_are_responsible_for(persona, request, owned_model):
    actor = request.getfixturevalue(persona)
    services.registered_model_update(actor=actor, model=owned_model, purpose="Edited.")
    assert RegisteredModel.objects.get(pk=owned_model.pk).purpose == "Edited."


@pytest.mark.parametrize(
    "persona", ["model_owner", "business_owner", "auditor", "viewer", "outsider"]
)
def test_others_may_not_edit_a_model(persona, request, foreign_model):
    actor = request.getfixturevalue(persona)
    with pytest.raises(PermissionDenied):
        services.registered_model_update(actor=actor, model=foreign_model, purpose="Hijacked.")
    assert RegisteredModel.objects.get(pk=foreign_model.pk).purpose != "Hijacked."
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize("field", ["owner", "business_owner", "validator"])
@pytest.mark.parametrize("persona", ["model_owner", "business_owner"])
def test_owners_cannot_reassign_accountability(persona, field, request, owned_model):
    actor = request.getfixturevalue(persona)
    stranger = UserFactory(username="someone.else")
    with pytest.raises(ApplicationError) as exc:
        services.registered_model_update(
            actor=actor, model=owned_model, purpose="Changed too.", **{field: stranger}
        )
    assert field in exc.value.field_errors
    fresh = RegisteredModel.objects.get(pk=owned_model.pk)
    assert fresh.purpose == owned_model.purpose
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize("persona", ["admin_user", "validator"])
def test_validators_and_admins_reassign_accountability(persona, request, owned_model):
    actor = request.getfixturevalue(persona)
    new_owner = UserFactory(username="new.owner", roles=[roles.MODEL_OWNER])
    services.registered_model_update(actor=actor, model=owned_model, owner=new_owner)
    [event] = _events()
    assert event.changes == {
        "owner": {"before": owned_model.owner_id, "after": new_owner.pk},
    }


def test_an_invalid_edit_writes_nothing(model_owner, owned_model):
    with pytest.raises(ApplicationError) as exc:
        services.registered_model_update(actor=model_owner, model=owned_model, name="ab")
    assert "name" in exc.value.field_errors
    assert RegisteredModel.objects.get(pk=owned_model.pk).name == "Owned model"
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize("field", ["slug", "status", "risk_tier", "eu_ai_act_class"])
def test_governance_fields_cannot_be_edited_directly(validator, owned_model, field):
    with pytest.raises(ApplicationError) as exc:
        services.registered_model_update(actor=validator, model=owned_model, **{field: "x"})
    assert field in exc.value.field_errors


# --- who may be named ---------------------------------------------------------------------


def _people(model: RegisteredModel) -> tuple:
    fresh = RegisteredModel.objects.get(pk=model.pk)
    developers = sorted(fresh.developers.values_list("pk", flat=True))
    return fresh.owner_id, fresh.business_owner_id, fresh.validator_id, developers, fresh.purpose


def _refused_on(refused, field: str) -> str:
    """The one message of a refusal that names ``field`` alone."""
    assert list(refused.value.field_errors) == [field]
    [message] = refused.value.field_errors[field]
    return message


@pytest.mark.parametrize("kind", MISFITS)
@pytest.mark.parametrize("field", SEATS)
def test_each_seat_refuses_a_person_who_does_not_fit_it_on_create(admin_user, field, kind):
    person = misfit(field, kind)
    seat = accountability.SINGLE_SEATS[field]
    with pytest.raises(ApplicationError) as refused:
        _create(admin_user, **{field: person})
    message = _refused_on(refused, field)
    assert message == f"{person} cannot be the model's {seat.title}: choose {seat.who}."
    assert not RegisteredModel.objects.exists()
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize("kind", MISFITS)
@pytest.mark.parametrize("field", SEATS)
def test_each_seat_refuses_a_person_who_does_not_fit_it_on_update(
    admin_user, owned_model, field, kind
):
    person = misfit(field, kind)
    before = _people(owned_model)
    with pytest.raises(ApplicationError) as refused:
        services.registered_model_update(
            actor=admin_user, model=owned_model, purpose="Changed too.", **{field: person}
        )
    assert _refused_on(refused, field).startswith(f"{person} cannot be the model's ")
    assert _people(owned_model) == before
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize("field", ["owner", "business_owner"])
def test_a_required_seat_left_empty_says_whom_to_choose(admin_user, owned_model, field):
    seat = accountability.SINGLE_SEATS[field]
    with pytest.raises(ApplicationError) as refused:
        services.registered_model_update(actor=admin_user, model=owned_model, **{field: None})
    assert _refused_on(refused, field) == f"Choose the model's {seat.title}: {seat.who}."
    with pytest.raises(ApplicationError) as refused:
        _create(admin_user, slug="empty-seat", **{field: None})
    assert field in refused.value.field_errors
    assert RegisteredModel.objects.count() == 1
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize(
    ("field", "role"),
    [
        ("owner", roles.MODEL_OWNER),
        ("owner", roles.ADMIN),
        ("business_owner", roles.BUSINESS_OWNER),
        ("validator", roles.VALIDATOR),
    ],
)
def test_each_seat_takes_an_active_holder_of_its_roles(admin_user, field, role):
    person = UserFactory(username="fits.well", roles=[role])
    model = _create(admin_user, **{field: person})
    assert getattr(model, field) == person
    other = UserFactory(username="fits.too", roles=[role])
    services.registered_model_update(actor=admin_user, model=model, **{field: other})
    assert getattr(RegisteredModel.objects.get(pk=model.pk), field) == other


def test_the_validator_seat_may_be_emptied(validator, owned_model):
    owned_model.validator = validator
    owned_model.save()
    services.registered_model_update(actor=validator, model=owned_model, validator=None)
    assert RegisteredModel.objects.get(pk=owned_model.pk).validator is None


def test_developers_must_be_active_model_owners(admin_user, owned_model, other_model_owner, viewer):
    gone = UserFactory(username="gone.dev", roles=[roles.MODEL_OWNER], is_active=False)
    with pytest.raises(ApplicationError) as refused:
        _create(admin_user, developers=[other_model_owner, viewer, gone])
    message = _refused_on(refused, "developers")
    assert message.startswith(f"{viewer}, {gone} cannot develop the model")
    assert not RegisteredModel.objects.exclude(pk=owned_model.pk).exists()
    before = _people(owned_model)
    with pytest.raises(ApplicationError) as refused:
        services.registered_model_update(
            actor=admin_user, model=owned_model, developers=[other_model_owner, viewer]
        )
    assert _refused_on(refused, "developers").startswith(f"{viewer} cannot develop the model")
    assert _people(owned_model) == before
    assert not AuditEvent.objects.exists()


def test_people_named_before_the_rule_stay_on_other_edits(validator):
    """Unchanged people are not checked again: a form or a PUT sends every seat back."""
    legacy = {
        "owner": UserFactory(username="legacy.owner", roles=[roles.VIEWER]),
        "business_owner": UserFactory(username="legacy.bo", roles=[roles.AUDITOR]),
        "validator": UserFactory(username="legacy.val", roles=[roles.VALIDATOR], is_active=False),
    }
    developer = UserFactory(username="legacy.dev")
    model = RegisteredModelFactory(slug="legacy", **legacy)
    model.developers.add(developer)
    services.registered_model_update(
        actor=validator, model=model, developers=[developer], purpose="Reworded.", **legacy
    )
    owner, business_owner, named_validator, developers, purpose = _people(model)
    assert (owner, business_owner, named_validator) == tuple(u.pk for u in legacy.values())
    assert (developers, purpose) == ([developer.pk], "Reworded.")
    # Changing one seat checks that seat alone.
    services.registered_model_update(actor=validator, model=model, validator=validator)
    assert _people(model)[2] == validator.pk


# --- independence: four-eyes (apps/approvals/policy.py) -----------------------------------


def test_the_owner_cannot_be_the_business_owner(admin_user):
    both = two_hats(roles.MODEL_OWNER, roles.BUSINESS_OWNER)
    with pytest.raises(ApplicationError) as refused:
        _create(both, business_owner=both)
    message = _refused_on(refused, "business_owner")
    assert message.startswith("The business owner must be someone other than the model's owner")
    assert not RegisteredModel.objects.exists()
    # On an edit, the message goes on the seat that changed: here the owner.
    model = _create(admin_user, owner=UserFactory(username="mo.first", roles=[roles.MODEL_OWNER]))
    services.registered_model_update(actor=admin_user, model=model, business_owner=both)
    with pytest.raises(ApplicationError) as refused:
        services.registered_model_update(actor=admin_user, model=model, owner=both)
    assert _refused_on(refused, "owner").startswith(
        "The owner must be someone other than the model's business owner"
    )
    assert RegisteredModel.objects.get(pk=model.pk).owner.username == "mo.first"


def test_the_validator_cannot_own_or_develop_the_model(admin_user, owned_model):
    both = two_hats(roles.MODEL_OWNER, roles.VALIDATOR)
    with pytest.raises(ApplicationError) as refused:
        _create(admin_user, owner=both, validator=both)
    assert _refused_on(refused, "validator").startswith(
        "The validator must be someone other than the model's owner"
    )
    owned_model.developers.add(both)
    with pytest.raises(ApplicationError) as refused:
        services.registered_model_update(actor=admin_user, model=owned_model, validator=both)
    assert _refused_on(refused, "validator").startswith(
        "The validator must not be one of the model's developers"
    )
    owned_model.developers.clear()
    services.registered_model_update(actor=admin_user, model=owned_model, validator=both)
    with pytest.raises(ApplicationError) as refused:
        services.registered_model_update(actor=admin_user, model=owned_model, developers=[both])
    assert _refused_on(refused, "developers").startswith(
        "The developers must not include the model's validator"
    )
    assert list(RegisteredModel.objects.get(pk=owned_model.pk).developers.all()) == []


def test_a_conflict_named_before_the_rule_stays_on_other_edits(validator):
    both = two_hats(roles.MODEL_OWNER, roles.BUSINESS_OWNER)
    model = RegisteredModelFactory(slug="legacy", owner=both, business_owner=both)
    services.registered_model_update(
        actor=validator, model=model, owner=both, business_owner=both, purpose="Reworded."
    )
    assert _people(model)[4] == "Reworded."


# --- discovered models ----------------------------------------------------------------------


@pytest.fixture
def service_user(db):
    return UserFactory(username="svc.mlflow", roles=[roles.MODEL_OWNER])


def _discover(service_user) -> RegisteredModel:
    return services.registered_model_discover(
        actor=service_user,
        slug="found",
        name="Found model",
        source="MLflow (bank registry)",
        business_unit=BusinessUnitFactory(code="discovered", name="Discovered"),
    )


def test_a_discovered_model_is_held_by_the_service_user_until_claimed(service_user):
    model = _discover(service_user)
    assert (model.owner, model.business_owner, model.validator) == (service_user,) * 2 + (None,)
    # Its placeholder seats are not checked again on the sync's other edits.
    services.registered_model_update(actor=service_user, model=model, description="From MLflow.")
    assert RegisteredModel.objects.get(pk=model.pk).description == "From MLflow."


@pytest.mark.parametrize("kind", [*MISFITS, "none"])
def test_a_claim_names_a_business_owner_who_fits_the_seat(service_user, model_owner, kind):
    model = _discover(service_user)
    person = None if kind == "none" else misfit("business_owner", kind)
    with pytest.raises(ApplicationError) as refused:
        services.registered_model_claim(
            actor=model_owner, model=model, purpose="Scores loans.", business_owner=person
        )
    assert _refused_on(refused, "business_owner") == accountability.seat_refusal(
        accountability.BUSINESS_OWNER, person
    )
    fresh = RegisteredModel.objects.get(pk=model.pk)
    assert fresh.awaits_claim and fresh.owner == service_user
    assert AuditEvent.objects.count() == 1  # the discovery's


def test_a_claimant_cannot_name_themselves_business_owner(service_user):
    both = two_hats(roles.MODEL_OWNER, roles.BUSINESS_OWNER)
    model = _discover(service_user)
    with pytest.raises(ApplicationError) as refused:
        services.registered_model_claim(
            actor=both, model=model, purpose="Scores loans.", business_owner=both
        )
    assert _refused_on(refused, "business_owner").startswith(
        "The business owner must be someone other than the model's owner"
    )
    assert RegisteredModel.objects.get(pk=model.pk).awaits_claim


def test_a_claim_with_a_business_owner_who_fits_takes_the_model(
    service_user, admin_user, business_owner
):
    model = _discover(service_user)
    claimed = services.registered_model_claim(
        actor=admin_user, model=model, purpose="Scores loans.", business_owner=business_owner
    )
    assert (claimed.owner, claimed.business_owner) == (admin_user, business_owner)
    assert not claimed.awaits_claim
    assert list(claimed.developers.all()) == [service_user]


# --- delete ------------------------------------------------------------------------------


def test_an_admin_deletes_a_model_registered_by_mistake(admin_user, owned_model):
    pk = owned_model.pk
    services.registered_model_delete(actor=admin_user, model=owned_model)
    assert not RegisteredModel.objects.filter(pk=pk).exists()
    [event] = _events()
    assert event.action == "delete"
    assert (event.object_type, event.object_id, event.model_ref) == (
        "inventory.registeredmodel",
        str(pk),
        pk,
    )
    assert event.object_repr == "Owned model"
    assert event.changes["slug"] == {"before": "owned-model", "after": None}
    assert audit_chain_verify().ok


@pytest.mark.parametrize("persona", ["validator", "model_owner", "business_owner", "auditor"])
def test_only_admins_delete_models(persona, request, owned_model):
    with pytest.raises(PermissionDenied):
        services.registered_model_delete(actor=request.getfixturevalue(persona), model=owned_model)
    assert RegisteredModel.objects.filter(pk=owned_model.pk).exists()


def test_a_model_with_versions_is_retired_not_deleted(admin_user, owned_model):
    ModelVersionFactory(model=owned_model)
    with pytest.raises(ApplicationError, match="retire it instead"):
        services.registered_model_delete(actor=admin_user, model=owned_model)
    assert RegisteredModel.objects.filter(pk=owned_model.pk).exists()
    assert not AuditEvent.objects.exists()


def test_the_chain_verifies_after_a_series_of_writes(admin_user, model_owner):
    model = _create(model_owner)
    services.registered_model_update(actor=model_owner, model=model, purpose="Second.")
    services.registered_model_update(actor=admin_user, model=model, algorithm="GBM")
    result = audit_chain_verify()
    assert result.ok
    assert result.count == 3
    assert result.head_hash == _events()[-1].hash


def test_the_write_and_its_audit_event_share_one_transaction(model_owner, owned_model, monkeypatch):
    def failing_audit(**kwargs):
        raise RuntimeError("audit store unavailable")

    # Creates record through the module's audit_record, edits through audited_update's.
    monkeypatch.setattr(registered_models, "audit_record", failing_audit)
    monkeypatch.setattr(audit_services, "audit_record", failing_audit)
    with pytest.raises(RuntimeError):
        services.registered_model_update(actor=model_owner, model=owned_model, purpose="Lost.")
    with pytest.raises(RuntimeError):
        _create(model_owner, slug="never-created")
    assert RegisteredModel.objects.get(pk=owned_model.pk).purpose == owned_model.purpose
    assert not RegisteredModel.objects.filter(slug="never-created").exists()


def test_a_model_with_reports_is_retired_not_deleted(admin_user, owned_model, settings, tmp_path):
    from tests.reports.jobs import done_report

    settings.MEDIA_ROOT = str(tmp_path)
    done_report(admin_user, kind="lineage", fmt="json", model=owned_model)
    with pytest.raises(ApplicationError, match="kept as evidence"):
        services.registered_model_delete(actor=admin_user, model=owned_model)
    assert RegisteredModel.objects.filter(pk=owned_model.pk).exists()
