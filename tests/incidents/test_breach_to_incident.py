"""Critical breaches open an incident per threshold; later ones join it; recovery is noted."""

from __future__ import annotations

import pytest

from apps.audit.models import AuditEvent
from apps.incidents import services
from apps.incidents.models import Incident
from apps.monitoring.models import Breach
from apps.notifications.models import Notification
from tests.monitoring.evaluation.helpers import day, ingest

pytestmark = pytest.mark.django_db


def _kinds(incident) -> list[str]:
    return list(incident.events.order_by("at", "pk").values_list("kind", flat=True))


def test_breach_incident_second_breach_recovery(make_threshold, v1, v2, auc):
    threshold = make_threshold()
    ingest(v1, auc, [(day(0), 0.9), (day(1), 0.6)])
    incident = Incident.objects.get()
    assert incident.threshold == threshold
    assert incident.status == "open"
    assert incident.created_by is None  # opened by the system
    assert incident.severity == "sev2"  # unassessed model: as strict as Tier 1
    assert [v.version for v in incident.affected_versions.all()] == [v1.version]
    assert _kinds(incident) == ["created", "breach"]
    first = Breach.objects.get()
    assert first.incident == incident

    # Version 2 breaches too: same threshold, so the same incident.
    ingest(v2, auc, [(day(1), 0.5)])
    assert Incident.objects.count() == 1
    assert sorted(v.version for v in incident.affected_versions.all()) == ["1.0.0", "2.0.0"]
    assert _kinds(incident) == ["created", "breach", "breach"]

    # Version 1 recovers: its breach ends, the incident notes it and stays open.
    ingest(v1, auc, [(day(2), 0.95)])
    first.refresh_from_db()
    assert first.ended_at is not None
    incident.refresh_from_db()
    assert incident.status == "open"
    recovery = incident.events.get(kind="recovery")
    assert recovery.breach == first and recovery.actor is None
    assert "back within bounds" in recovery.text
    assert Breach.objects.filter(ended_at__isnull=True).count() == 1  # version 2 still breaches


def test_opening_is_audited_as_the_system_and_notifies(make_threshold, v1, auc, owned_model):
    make_threshold()
    ingest(v1, auc, [(day(0), 0.6)])
    incident = Incident.objects.get()
    opened = AuditEvent.objects.get(
        object_type="incidents.incident", object_id=str(incident.pk), action="create"
    )
    assert opened.actor is None and opened.actor_username == "system"
    assert AuditEvent.objects.filter(object_type="monitoring.breach", action="create").exists()
    recipients = set(
        Notification.objects.filter(event="incident.opened").values_list("recipient", flat=True)
    )
    assert recipients == {owned_model.owner_id, owned_model.business_owner_id}


def test_a_closed_incident_is_not_joined(make_threshold, v1, auc, validator):
    make_threshold()
    ingest(v1, auc, [(day(0), 0.6)])
    first = Incident.objects.get()
    services.incident_update(
        actor=validator, incident=first, root_cause="Bad data.", corrective_actions="Reloaded."
    )
    for status in ("investigating", "resolved", "closed"):
        services.incident_transition(actor=validator, incident=first, status=status)
    ingest(v1, auc, [(day(1), 0.9)])  # recovery: no active incident to note it on
    ingest(v1, auc, [(day(2), 0.5)])
    second = Incident.objects.exclude(pk=first.pk).get()
    assert second.status == "open" and second.threshold == first.threshold
    assert first.events.filter(kind="recovery").count() == 0
    # Reopening the first would make two active incidents for one threshold.
    with pytest.raises(Exception, match=second.reference):
        services.incident_transition(actor=validator, incident=first, status="open")


def test_thresholds_of_other_segments_open_their_own_incidents(make_threshold, v1, auc):
    make_threshold()
    make_threshold(segment="region=eu")
    ingest(v1, auc, [(day(0), 0.6)])
    ingest(v1, auc, [(day(0), 0.6)], segment="region=eu")
    assert Incident.objects.count() == 2
    assert set(Incident.objects.values_list("title", flat=True)) == {
        "auc below its critical bound",
        "auc below its critical bound (region=eu)",
    }


def test_a_tier_3_model_breach_is_sev4(make_threshold, v1, auc, owned_model):
    owned_model.risk_tier = 3
    owned_model.save()
    make_threshold()
    ingest(v1, auc, [(day(0), 0.6)])
    assert Incident.objects.get().severity == "sev4"
