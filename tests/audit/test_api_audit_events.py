"""API: /api/v1/audit-events/ (read the trail) and /api/v1/audit-events/verify/."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from apps.audit.models import AuditEvent
from apps.audit.services import audit_checkpoint_write
from apps.inventory import services
from tests.audit.tamper import edit_and_rehash, forge_message
from tests.factories import BusinessUnitFactory

pytestmark = pytest.mark.django_db

LIST = "/api/v1/audit-events/"
VERIFY = "/api/v1/audit-events/verify/"
READERS = ["admin_user", "validator", "auditor"]
NON_READERS = ["business_owner", "model_owner", "viewer"]


def api(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_login(user)
    return client


def _register(actor, slug: str, business_owner):
    return services.registered_model_create(
        actor=actor,
        slug=slug,
        name=f"Model {slug}",
        purpose="Testing the audit trail.",
        business_unit=BusinessUnitFactory(code="ops", name="Operations"),
        business_owner=business_owner,
    )


@pytest.fixture
def history(model_owner, business_owner, validator):
    """Two models registered by the model owner; the validator edits one of them."""
    first = _register(model_owner, "first-model", business_owner)
    _register(model_owner, "second-model", business_owner)
    services.registered_model_update(actor=validator, model=first, purpose="Sharper.")
    return first


def _tamper(event: AuditEvent) -> None:
    forge_message(event.pk, "edited")


# --- list and retrieve --------------------------------------------------------------------


@pytest.mark.parametrize("persona", READERS)
def test_audit_readers_list_events_newest_first(request, persona, history):
    rows = api(request.getfixturevalue(persona)).get(LIST).json()["results"]
    assert [row["sequence"] for row in rows] == [3, 2, 1]
    newest = rows[0]
    assert newest["actor"] == "val.validator"
    assert newest["action"] == "update"
    assert newest["model"] == "first-model"
    assert newest["changes"]["purpose"]["after"] == "Sharper."
    assert len(newest["hash"]) == 64
    assert newest["prev_hash"] == rows[1]["hash"]


@pytest.mark.parametrize("persona", NON_READERS)
def test_other_roles_get_403(request, persona, history):
    client = api(request.getfixturevalue(persona))
    assert client.get(LIST).status_code == 403
    event = AuditEvent.objects.first()
    assert client.get(reverse("api:audit-event-detail", kwargs={"pk": event.pk})).status_code == (
        403
    )
    assert client.get(VERIFY).status_code == 403


def test_anonymous_requests_get_401(history):
    assert api().get(LIST).status_code == 401
    assert api().get(VERIFY).status_code == 401


def test_an_auditor_reads_one_event(auditor, history):
    event = AuditEvent.objects.get(sequence=1)
    body = api(auditor).get(reverse("api:audit-event-detail", kwargs={"pk": event.pk})).json()
    assert body["object_type"] == "inventory.registeredmodel"
    assert body["model"] == "first-model"
    assert body["hash"] == event.hash


def test_an_unknown_event_answers_404(auditor):
    assert api(auditor).get(reverse("api:audit-event-detail", kwargs={"pk": 999})).status_code == (
        404
    )


def test_audit_events_cannot_be_written_through_the_api(admin_user, history):
    client = api(admin_user)
    event = AuditEvent.objects.first()
    detail = reverse("api:audit-event-detail", kwargs={"pk": event.pk})
    assert client.post(LIST, {"action": "create"}, format="json").status_code == 405
    assert client.patch(detail, {"message": "x"}, format="json").status_code == 405
    assert client.delete(detail).status_code == 405


def test_it_filters_by_model_actor_and_object_type(auditor, history):
    client = api(auditor)

    def sequences(**query):
        return [row["sequence"] for row in client.get(LIST, query).json()["results"]]

    assert sequences(model="first-model") == [3, 1]
    assert sequences(model="no-such-model") == []
    assert sequences(actor="val.validator") == [3]
    assert sequences(object_type="inventory.registeredmodel", action="create") == [2, 1]


def test_it_filters_by_time_window(auditor, history):
    client = api(auditor)
    now = timezone.now()
    later = (now + timedelta(hours=1)).isoformat()
    earlier = (now - timedelta(hours=1)).isoformat()
    assert client.get(LIST, {"since": later}).json()["count"] == 0
    assert client.get(LIST, {"since": earlier, "until": later}).json()["count"] == 3


def test_a_bad_filter_value_is_named(auditor, history):
    response = api(auditor).get(LIST, {"since": "yesterday-ish"})
    assert response.status_code == 400
    assert "since" in response.json()


def test_the_list_costs_the_same_queries_for_3_or_30_events(
    django_assert_max_num_queries, auditor, model_owner, business_owner, validator, history
):
    client = api(auditor)
    with CaptureQueriesContext(connection) as few:
        client.get(LIST)
    few_count = len(few)
    for n in range(27):
        services.registered_model_update(actor=validator, model=history, purpose=f"Take {n}.")
    with django_assert_max_num_queries(few_count):
        assert client.get(LIST).json()["count"] == 30
    event = AuditEvent.objects.first()
    with django_assert_max_num_queries(few_count):
        client.get(reverse("api:audit-event-detail", kwargs={"pk": event.pk}))


# --- verify -------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", READERS)
def test_verify_reports_an_intact_chain(request, persona, history):
    body = api(request.getfixturevalue(persona)).get(VERIFY).json()
    assert body.pop("checkpoint")["state"] == "unverifiable"  # no checkpoint written yet
    assert body == {
        "ok": True,
        "count": 3,
        "head_hash": AuditEvent.objects.get(sequence=3).hash,
        "broken_sequence": None,
        "broken_id": None,
        "reason": "",
    }


def test_verify_names_the_first_altered_event(auditor, history):
    altered = AuditEvent.objects.get(sequence=2)
    _tamper(altered)
    body = api(auditor).get(VERIFY).json()
    assert body["ok"] is False
    assert body["broken_sequence"] == 2
    assert body["broken_id"] == altered.pk
    assert "altered" in body["reason"]


def test_verify_compares_the_chain_with_the_signed_checkpoints(auditor, history):
    checkpoint = audit_checkpoint_write(reason="test")
    body = api(auditor).get(VERIFY).json()
    assert body["ok"] is True
    assert body["checkpoint"]["state"] == "verified"
    assert body["checkpoint"]["latest"]["hash"] == checkpoint.hash
    assert body["checkpoint"]["latest"]["signature"] == checkpoint.signature


def test_verify_reports_a_rehashed_chain_through_the_checkpoint(auditor, history):
    audit_checkpoint_write(reason="test")
    edit_and_rehash(1)
    body = api(auditor).get(VERIFY).json()
    assert body["ok"] is False and body["broken_sequence"] is None
    assert body["checkpoint"]["state"] == "broken"
    assert "event 3 has hash" in body["reason"]
