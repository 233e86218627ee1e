"""Commenting on an incident takes its locks in the order every other incident write does.

The fuzz run against PostgreSQL found a deadlock: a comment locked the audit chain head and
only then (at commit, through the event's deferred foreign-key check) the incident row, while
a concurrent edit held the incident and waited for the head. The comment now locks the
incident first.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.incidents import services
from apps.incidents.models import Incident

pytestmark = pytest.mark.django_db


def test_a_comment_locks_the_incident_before_the_audit_chain_head(validator, owned_model):
    incident = services.incident_create(
        actor=validator, model=owned_model, title="Score drift", severity="sev3"
    )
    incident = Incident.objects.get(pk=incident.pk)
    with CaptureQueriesContext(connection) as queries:
        services.incident_comment(actor=validator, incident=incident, text="Looking into it.")
    sql = [q["sql"] for q in queries.captured_queries]
    incident_read = next(
        i for i, q in enumerate(sql) if q.startswith("SELECT") and 'FROM "incidents_incident"' in q
    )
    head_lock = next(i for i, q in enumerate(sql) if '"audit_auditchainhead"' in q)
    assert incident_read < head_lock
    if connection.vendor == "postgresql":
        assert "FOR UPDATE" in sql[incident_read]
