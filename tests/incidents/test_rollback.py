"""Emergency rollback: the previous production version is re-promoted at once and its
ratification goes through the approval engine."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from apps.approvals.choices import ApprovalKind, RequestStatus, Verdict
from apps.audit.models import AuditEvent
from apps.core.errors import ApplicationError
from apps.incidents import selectors, services
from tests.approvals.helpers import PASSWORD, sign
from tests.factories import ModelVersionFactory

pytestmark = pytest.mark.django_db


def test_it_re_promotes_the_previous_version(production_history, incident, validator):
    old, new = production_history
    event = services.incident_rollback(
        actor=validator, incident=incident, reason="2.0.0 scores everything 0.5.", password=PASSWORD
    )
    old.refresh_from_db()
    new.refresh_from_db()
    assert (old.stage, new.stage) == ("production", "archived")
    assert (event.kind, event.data["from"], event.data["to"]) == ("rollback", "2.0.0", "1.0.0")
    incident.refresh_from_db()
    request = incident.rollback_request
    assert request.kind == ApprovalKind.EMERGENCY_CHANGE
    assert request.status == RequestStatus.PENDING
    assert request.subject_type == "incidents.incidentevent"
    assert request.content["rolled_back_to"] == "1.0.0"
    assert request.content["rolled_back_by"] == validator.username
    assert request.required_slots == ["business_owner", "validator"]  # Tier 1
    assert new in incident.affected_versions.all()
    assert AuditEvent.objects.filter(
        object_type="inventory.modelversion", object_id=str(old.pk), message__contains="rollback"
    ).exists()


def test_ratification_is_recorded_on_the_timeline(
    production_history, incident, admin_user, validator, business_owner
):
    services.incident_rollback(
        actor=admin_user, incident=incident, reason="Broken release.", password=PASSWORD
    )
    incident.refresh_from_db()
    request = incident.rollback_request
    sign(request, business_owner)
    sign(request, validator)
    request.refresh_from_db()
    assert request.status == RequestStatus.APPROVED
    last = incident.events.order_by("-pk").first()
    assert (last.kind, last.data["ratified"]) == ("rollback", True)
    assert "ratified" in last.text


def test_a_refused_ratification_is_recorded_and_changes_nothing_else(
    production_history, incident, admin_user, business_owner
):
    old, _ = production_history
    services.incident_rollback(
        actor=admin_user, incident=incident, reason="Broken release.", password=PASSWORD
    )
    incident.refresh_from_db()
    request = incident.rollback_request
    sign(request, business_owner, verdict=Verdict.REJECT, comment="Should have waited.")
    request.refresh_from_db()
    assert request.status == RequestStatus.REJECTED
    last = incident.events.order_by("-pk").first()
    assert last.data["ratified"] is False
    assert "not ratified" in last.text and "Should have waited." in last.text
    old.refresh_from_db()
    assert old.stage == "production"  # undoing it would be a second unreviewed change


def test_the_requester_cannot_ratify_their_own_rollback(production_history, incident, validator):
    services.incident_rollback(
        actor=validator, incident=incident, reason="Broken.", password=PASSWORD
    )
    incident.refresh_from_db()
    with pytest.raises(ApplicationError, match="someone else must decide"):
        sign(incident.rollback_request, validator)


@pytest.mark.parametrize("who", ["model_owner", "business_owner", "auditor", "viewer"])
def test_only_admins_and_validators_roll_back(request, production_history, incident, who):
    with pytest.raises(PermissionDenied):
        services.incident_rollback(
            actor=request.getfixturevalue(who), incident=incident, reason="x", password=PASSWORD
        )


def test_nothing_to_roll_back_to(owned_model, incident, validator, admin_user):
    from django.db import transaction

    from apps.inventory.services import promote_version

    owned_model.risk_tier, owned_model.eu_ai_act_class, owned_model.status = (
        3,
        "minimal",
        "approved",
    )
    owned_model.save()
    with pytest.raises(ApplicationError, match="no production version"):
        services.incident_rollback(
            actor=validator, incident=incident, reason="x", password=PASSWORD
        )
    only = ModelVersionFactory(model=owned_model)
    with transaction.atomic():
        promote_version(actor=admin_user, version=only)
    with pytest.raises(ApplicationError, match="nothing to roll back to"):
        services.incident_rollback(
            actor=validator, incident=incident, reason="x", password=PASSWORD
        )


def test_a_reason_and_an_active_incident_are_needed(production_history, incident, validator):
    with pytest.raises(ApplicationError, match="Say why"):
        services.incident_rollback(
            actor=validator, incident=incident, reason=" ", password=PASSWORD
        )
    services.incident_update(
        actor=validator, incident=incident, root_cause="x", corrective_actions="y"
    )
    for status in ("investigating", "resolved"):
        services.incident_transition(actor=validator, incident=incident, status=status)
    with pytest.raises(ApplicationError, match="Only an active incident"):
        services.incident_rollback(
            actor=validator, incident=incident, reason="x", password=PASSWORD
        )


def test_rolling_back_twice_goes_further_back(production_history, incident, validator, admin_user):
    """After a rollback to 1.0.0, the version before it in production is 2.0.0 again."""
    old, new = production_history
    services.incident_rollback(
        actor=validator, incident=incident, reason="Broken.", password=PASSWORD
    )
    current, target = selectors.rollback_plan(incident)
    assert (current, target) == (old, new)


def test_the_approver_sees_what_to_ratify(
    client, production_history, incident, validator, business_owner
):
    from django.urls import reverse

    services.incident_rollback(
        actor=validator, incident=incident, reason="Broken release.", password=PASSWORD
    )
    incident.refresh_from_db()
    request = incident.rollback_request
    client.force_login(business_owner)
    detail = client.get(reverse("approvals:request_detail", kwargs={"pk": request.pk}))
    assert detail.status_code == 200
    assert "Ratify the emergency rollback" in detail.content.decode()
    compare = client.get(reverse("approvals:request_compare", kwargs={"pk": request.pk}))
    assert compare.status_code == 200
    assert "2.0.0" in compare.content.decode() and "1.0.0" in compare.content.decode()
    inbox = client.get(reverse("approvals:inbox")).content.decode()
    assert "Ratify the emergency rollback" in inbox


# --- the electronic signature a rollback needs ------------------------------------------


def test_a_wrong_password_changes_nothing_and_is_audited_as_a_failed_signature(
    production_history, incident, validator
):
    old, new = production_history
    with pytest.raises(ApplicationError, match="password is not correct") as refused:
        services.incident_rollback(
            actor=validator, incident=incident, reason="Broken.", password="guess"
        )
    assert "password" in refused.value.field_errors
    old.refresh_from_db()
    new.refresh_from_db()
    assert (old.stage, new.stage) == ("archived", "production")
    incident.refresh_from_db()
    assert incident.rollback_request is None
    failed = AuditEvent.objects.filter(action=AuditEvent.Action.SIGNATURE_FAILED).get()
    assert failed.actor == validator and failed.object_id == str(incident.pk)
    assert "emergency rollback" in failed.message and "1.0.0" in failed.message


def test_an_empty_password_is_refused_without_counting(production_history, incident, validator):
    with pytest.raises(ApplicationError, match="password is not correct"):
        services.incident_rollback(actor=validator, incident=incident, reason="x", password="")
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.SIGNATURE_FAILED).exists()


def test_the_signed_rollback_is_audited_as_a_signature(production_history, incident, validator):
    services.incident_rollback(
        actor=validator, incident=incident, reason="Broken.", password=PASSWORD
    )
    event = AuditEvent.objects.filter(
        object_type="incidents.incident", changes__has_key="rollback"
    ).get()
    assert event.changes["signature"]["after"]["signed_by"] == validator.username
    assert event.changes["signature"]["after"]["method"] == "password"
    assert "signed electronically" in event.message


def test_a_locked_account_cannot_roll_back(production_history, incident, validator, settings):
    from apps.accounts.services import LockedOut

    settings.MLGOV_LOCKOUT_RULES = [(("username",), 3, 15)]
    old, _ = production_history
    for _ in range(3):
        with pytest.raises(ApplicationError):
            services.incident_rollback(
                actor=validator, incident=incident, reason="x", password="wrong"
            )
    with pytest.raises(LockedOut):
        services.incident_rollback(
            actor=validator, incident=incident, reason="x", password=PASSWORD
        )
    old.refresh_from_db()
    assert old.stage == "archived"


def test_a_changed_plan_is_not_rolled_back_blindly(production_history, incident, validator):
    old, new = production_history
    with pytest.raises(ApplicationError, match=r"not 0\.9\.0 as offered"):
        services.incident_rollback(
            actor=validator,
            incident=incident,
            reason="x",
            password=PASSWORD,
            expected_version="0.9.0",
        )
    new.refresh_from_db()
    assert new.stage == "production"
    services.incident_rollback(
        actor=validator, incident=incident, reason="x", password=PASSWORD, expected_version="1.0.0"
    )
    old.refresh_from_db()
    assert old.stage == "production"
