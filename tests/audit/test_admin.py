"""Audit events in the admin are strictly read-only."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.audit.models import AuditEvent
from apps.inventory import services
from tests.factories import BusinessUnitFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def event(model_owner, business_owner):
    services.registered_model_create(
        actor=model_owner,
        slug="audited-model",
        name="Audited model",
        purpose="Anything.",
        business_unit=BusinessUnitFactory(),
        business_owner=business_owner,
    )
    return AuditEvent.objects.get()


def test_an_admin_reads_audit_events(client, admin_user, event):
    client.force_login(admin_user)
    assert client.get(reverse("admin:audit_auditevent_changelist")).status_code == 200
    response = client.get(reverse("admin:audit_auditevent_change", args=[event.pk]))
    assert response.status_code == 200
    assert event.hash in response.content.decode()


def test_audit_events_cannot_be_added_changed_or_deleted(client, admin_user, event):
    client.force_login(admin_user)
    assert client.get(reverse("admin:audit_auditevent_add")).status_code == 403
    change = reverse("admin:audit_auditevent_change", args=[event.pk])
    client.post(change, {"message": "rewritten"})
    delete = reverse("admin:audit_auditevent_delete", args=[event.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    event.refresh_from_db()
    assert event.message == ""
    assert AuditEvent.objects.count() == 1


def test_verifications_are_listed_read_only_in_the_admin(client, admin_user, event):
    from apps.audit.models import ChainVerification

    run = ChainVerification.objects.create(trigger="command", status="done", ok=True)
    client.force_login(admin_user)
    assert client.get(reverse("admin:audit_chainverification_changelist")).status_code == 200
    assert client.get(reverse("admin:audit_chainverification_add")).status_code == 403
    change = reverse("admin:audit_chainverification_change", args=[run.pk])
    client.post(change, {"ok": "False"})
    run.refresh_from_db()
    assert run.ok is True


def test_the_event_list_reads_one_page_and_one_count_with_no_scan_for_distinct_values(
    client, admin_user, event
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(admin_user)
    changelist = reverse("admin:audit_auditevent_changelist")
    client.get(changelist)
    with CaptureQueriesContext(connection) as ctx:
        page = client.get(changelist)

    assert page.status_code == 200
    sql = [q["sql"].upper() for q in ctx.captured_queries if "AUDIT_AUDITEVENT" in q["sql"].upper()]
    assert not [q for q in sql if "DISTINCT" in q], sql
    assert len([q for q in sql if "COUNT(" in q]) == 1, sql
    # Every type of object mlgov audits is offered, without reading the trail for them.
    assert "?object_type=inventory.registeredmodel" in page.content.decode()


def test_the_event_list_filters_by_object_type_and_date(client, admin_user, event):
    client.force_login(admin_user)
    changelist = reverse("admin:audit_auditevent_changelist")

    kept = client.get(changelist, {"object_type": "inventory.registeredmodel"})
    left_out = client.get(changelist, {"object_type": "incidents.incident"})

    assert kept.context["cl"].result_count == 1
    assert left_out.context["cl"].result_count == 0
    assert (
        client.get(changelist, {"occurred_at__gte": "2000-01-01 00:00:00+00:00"}).status_code == 200
    )
