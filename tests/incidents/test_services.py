"""Incident services: references, details and deadlines, workflow, comments, permissions."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.core.errors import ApplicationError
from apps.incidents import services
from apps.incidents.models import Incident
from apps.notifications.models import Notification
from tests.factories import ModelVersionFactory

pytestmark = pytest.mark.django_db


def _kinds(incident) -> list[str]:
    return list(incident.events.order_by("at", "pk").values_list("kind", flat=True))


def test_it_numbers_incidents_per_year(owned_model, model_owner, incident):
    year = timezone.localtime().year
    assert incident.reference == f"INC-{year}-0001"
    second = services.incident_create(
        actor=model_owner, model=owned_model, title="Again", severity="sev4"
    )
    assert second.reference == f"INC-{year}-0002"


def test_it_keeps_counting_past_9999(owned_model, model_owner, incident):
    year = timezone.localtime().year
    Incident.objects.filter(pk=incident.pk).update(reference=f"INC-{year}-9999")
    nxt = services.incident_create(
        actor=model_owner, model=owned_model, title="Next", severity="sev4"
    )
    assert nxt.reference == f"INC-{year}-10000"
    after = services.incident_create(
        actor=model_owner, model=owned_model, title="After", severity="sev4"
    )
    assert after.reference == f"INC-{year}-10001"


def test_a_taken_reference_is_retried_with_the_next(
    owned_model, model_owner, incident, monkeypatch
):
    """Simulates another transaction taking the number computed here first."""
    year = timezone.localtime().year
    calls = []
    real = services._next_reference

    def stale_first(y):
        calls.append(y)
        return incident.reference if len(calls) == 1 else real(y)

    monkeypatch.setattr(services, "_next_reference", stale_first)
    second = services.incident_create(
        actor=model_owner, model=owned_model, title="Race", severity="sev4"
    )
    assert second.reference == f"INC-{year}-0002"
    assert len(calls) == 2


def test_creation_is_audited_timed_and_notified(owned_model, model_owner, incident):
    assert incident.created_by == model_owner
    assert _kinds(incident) == ["created"]
    event = AuditEvent.objects.get(object_type="incidents.incident", object_id=str(incident.pk))
    assert event.action == "create" and event.actor == model_owner
    assert event.changes["reference"]["after"] == incident.reference
    recipients = set(
        Notification.objects.filter(event="incident.opened").values_list("recipient", flat=True)
    )
    assert recipients == {owned_model.business_owner_id}  # not the one who opened it


def test_a_serious_incident_gets_its_deadline(owned_model, model_owner):
    aware = timezone.now() - dt.timedelta(days=1)
    incident = services.incident_create(
        actor=model_owner,
        model=owned_model,
        title="Wrongful refusals",
        severity="sev1",
        serious_category="fundamental_rights",
        awareness_at=aware,
    )
    assert incident.reporting_deadline == aware + dt.timedelta(days=15)


def test_marking_it_serious_starts_the_clock_now(incident, validator):
    before = timezone.now()
    incident = services.incident_update(
        actor=validator, incident=incident, serious_category="death"
    )
    assert before <= incident.awareness_at <= timezone.now()
    assert incident.reporting_deadline == incident.awareness_at + dt.timedelta(days=10)


def test_the_deadline_follows_updates(incident, validator):
    aware = timezone.now() - dt.timedelta(hours=5)
    incident = services.incident_update(
        actor=validator, incident=incident, serious_category="health", awareness_at=aware
    )
    assert incident.reporting_deadline == aware + dt.timedelta(days=15)
    incident = services.incident_update(actor=validator, incident=incident, widespread=True)
    assert incident.reporting_deadline == aware + dt.timedelta(days=2)
    incident = services.incident_update(
        actor=validator, incident=incident, widespread=False, serious_category=""
    )
    assert incident.reporting_deadline is None


def test_widespread_needs_a_category(incident, validator):
    with pytest.raises(ApplicationError) as exc:
        services.incident_update(actor=validator, incident=incident, widespread=True)
    assert "serious_category" in exc.value.field_errors


def test_only_a_serious_incident_is_reported(incident, validator):
    with pytest.raises(ApplicationError, match="Only a serious incident"):
        services.incident_update(actor=validator, incident=incident, reported_at=timezone.now())


def test_times_in_the_future_are_refused(incident, validator):
    with pytest.raises(ApplicationError) as exc:
        services.incident_update(
            actor=validator,
            incident=incident,
            serious_category="health",
            awareness_at=timezone.now() + dt.timedelta(days=1),
        )
    assert "awareness_at" in exc.value.field_errors


def test_reporting_assignment_and_edits_each_get_a_timeline_entry(incident, validator):
    aware = timezone.now() - dt.timedelta(days=1)
    services.incident_update(
        actor=validator, incident=incident, serious_category="health", awareness_at=aware
    )
    services.incident_update(actor=validator, incident=incident, assignee=validator)
    services.incident_update(actor=validator, incident=incident, reported_at=timezone.now())
    assert _kinds(incident) == ["created", "update", "assignment", "reported"]
    updates = AuditEvent.objects.filter(
        object_type="incidents.incident", object_id=str(incident.pk), action="update"
    )
    assert updates.count() == 3


def test_an_update_that_changes_nothing_writes_nothing(incident, validator):
    audits = AuditEvent.objects.count()
    services.incident_update(actor=validator, incident=incident, title=incident.title)
    assert AuditEvent.objects.count() == audits
    assert _kinds(incident) == ["created"]


def test_unknown_fields_are_refused(incident, validator):
    with pytest.raises(ApplicationError, match="cannot be set here: status"):
        services.incident_update(actor=validator, incident=incident, status="closed")


def test_the_workflow_records_status_changes(incident, model_owner):
    services.incident_transition(actor=model_owner, incident=incident, status="investigating")
    with pytest.raises(ApplicationError, match="root cause and the corrective actions"):
        services.incident_transition(actor=model_owner, incident=incident, status="resolved")
    services.incident_update(
        actor=model_owner,
        incident=incident,
        root_cause="Postcode format changed upstream.",
        corrective_actions="Parser accepts both formats; contract test added.",
    )
    incident = services.incident_transition(
        actor=model_owner, incident=incident, status="resolved", note="Fixed in 2.0.1"
    )
    assert incident.resolved_at is not None
    incident = services.incident_transition(actor=model_owner, incident=incident, status="closed")
    assert incident.closed_at is not None
    incident = services.incident_transition(actor=model_owner, incident=incident, status="open")
    assert (incident.resolved_at, incident.closed_at) == (None, None)
    statuses = list(
        incident.events.filter(kind="status").values_list("from_status", "to_status", "text")
    )
    assert statuses == [
        ("open", "investigating", ""),
        ("investigating", "resolved", "Fixed in 2.0.1"),
        ("resolved", "closed", ""),
        ("closed", "open", ""),
    ]
    assert AuditEvent.objects.filter(object_id=str(incident.pk), action="transition").count() == 4


def test_comments_are_on_the_timeline_and_audited(incident, business_owner):
    event = services.incident_comment(
        actor=business_owner, incident=incident, text="Customers call."
    )
    assert (event.kind, event.actor, event.text) == ("comment", business_owner, "Customers call.")
    assert AuditEvent.objects.filter(object_type="incidents.incidentevent").count() == 1
    with pytest.raises(ApplicationError, match="Write a comment"):
        services.incident_comment(actor=business_owner, incident=incident, text="  ")


def test_affected_versions_must_belong_to_the_model(owned_model, foreign_model, model_owner):
    other = ModelVersionFactory(model=foreign_model)
    with pytest.raises(ApplicationError, match="versions of this model"):
        services.incident_create(
            actor=model_owner,
            model=owned_model,
            title="x",
            severity="sev4",
            affected_versions=[other],
        )
    own = ModelVersionFactory(model=owned_model)
    incident = services.incident_create(
        actor=model_owner, model=owned_model, title="x", severity="sev4", affected_versions=[own]
    )
    assert list(incident.affected_versions.all()) == [own]


@pytest.mark.parametrize("who", ["auditor", "viewer", "business_owner", "other_model_owner"])
def test_read_only_and_outside_roles_change_nothing(request, incident, who):
    user = request.getfixturevalue(who)
    with pytest.raises(PermissionDenied):
        services.incident_update(actor=user, incident=incident, impact="x")
    with pytest.raises(PermissionDenied):
        services.incident_transition(actor=user, incident=incident, status="investigating")


@pytest.mark.parametrize("who", ["auditor", "viewer", "other_model_owner"])
def test_only_the_team_and_the_business_owner_comment(request, incident, who):
    with pytest.raises(PermissionDenied):
        services.incident_comment(actor=request.getfixturevalue(who), incident=incident, text="x")


def test_a_model_owner_opens_incidents_on_their_models_only(foreign_model, model_owner):
    with pytest.raises(PermissionDenied):
        services.incident_create(actor=model_owner, model=foreign_model, title="x", severity="sev4")
