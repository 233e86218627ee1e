"""The audit log pages: who may read and verify, filters, readable changes, queries."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.audit.services import audit_checkpoint_write
from apps.inventory import services
from tests.audit.tamper import forge_message, truncate_and_reset_head
from tests.factories import RegisteredModelFactory

LIST = reverse("audit:event_list")
VERIFY = reverse("audit:verify")


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def edited(validator, owned_model):
    services.registered_model_update(actor=validator, model=owned_model, purpose="New purpose.")
    return owned_model


def test_anonymous_users_go_to_login(client, db):
    assert client.get(LIST).status_code == 302
    assert client.post(VERIFY).status_code == 302


@pytest.mark.parametrize("persona", ["admin_user", "validator", "auditor"])
def test_audit_readers_see_the_log_and_verify(client, request, edited, persona):
    client.force_login(request.getfixturevalue(persona))
    response = client.get(LIST)
    assert response.status_code == 200
    assert b"New purpose." in response.content
    verify = client.post(VERIFY)
    assert verify.status_code == 200
    assert b"The chain is intact" in verify.content


@pytest.mark.parametrize("persona", ["viewer", "model_owner", "business_owner", "outsider"])
def test_others_are_refused(client, db, request, persona):
    client.force_login(request.getfixturevalue(persona))
    assert client.get(LIST).status_code == 403
    assert client.post(VERIFY).status_code == 403


def test_verify_is_post_only(client, auditor):
    client.force_login(auditor)
    assert client.get(VERIFY).status_code == 405


def test_verify_reports_a_tampered_event(client, auditor, edited):
    event = AuditEvent.objects.order_by("sequence").first()
    forge_message(event.pk)
    client.force_login(auditor)
    response = client.post(VERIFY)
    assert b"The chain is broken" in response.content
    assert f"sequence {event.sequence}".encode() in response.content


def test_changes_show_names_instead_of_ids(client, auditor, admin_user, owned_model, validator):
    services.registered_model_update(actor=admin_user, model=owned_model, validator=validator)
    client.force_login(auditor)
    content = client.get(LIST, {"object_type": "inventory.registeredmodel"}).content.decode()
    assert "val.validator" in content


def test_it_filters_by_type_actor_and_date(client, auditor, admin_user, edited):
    RegisteredModelFactory()  # not audited: built directly
    client.force_login(auditor)

    def actions(query):
        return [row.event.actor_username for row in client.get(LIST, query).context["events"]]

    assert actions({"actor": "val.validator"}) == ["val.validator"]
    assert actions({"actor": "nobody"}) == []
    assert actions({"object_type": "inventory.registeredmodel"}) == ["val.validator"]
    today = timezone.localdate()
    assert actions({"date_from": today.isoformat(), "date_to": today.isoformat()}) == [
        "val.validator"
    ]
    tomorrow = today + dt.timedelta(days=1)
    assert actions({"date_from": tomorrow.isoformat()}) == []


def test_a_reversed_date_range_is_explained(client, auditor):
    client.force_login(auditor)
    response = client.get(LIST, {"date_from": "2026-02-02", "date_to": "2026-01-01"})
    assert "date_to" in response.context["form"].errors


@pytest.mark.parametrize("rows", [3, 30])
def test_the_log_query_count_is_constant(
    client, auditor, admin_user, owned_model, rows, django_assert_max_num_queries
):
    for i in range(rows):
        services.registered_model_update(actor=admin_user, model=owned_model, purpose=f"P{i}")
    client.force_login(auditor)
    with django_assert_max_num_queries(12):
        assert client.get(LIST).status_code == 200


def test_stored_times_in_changes_are_shown_in_the_users_zone(
    client, auditor, validator, owned_model
):
    auditor.timezone = "Asia/Tokyo"
    auditor.save()
    services.registered_model_transition(actor=validator, model=owned_model, target="validation")
    client.force_login(auditor)
    event = AuditEvent.objects.get(action="transition")
    raw = event.changes["validation_started_at"]["after"]
    content = client.get(LIST).content.decode()
    assert raw not in content
    local = timezone.localtime(event.occurred_at, timezone=dt.timezone(dt.timedelta(hours=9)))
    assert local.strftime("%H:%M") in content


def test_verify_shows_the_checkpoint_verdict(client, auditor, edited):
    client.force_login(auditor)
    assert b"Not compared with a signed checkpoint" in client.post(VERIFY).content
    audit_checkpoint_write(reason="test")
    assert b"Signed checkpoint verified" in client.post(VERIFY).content
    truncate_and_reset_head()
    content = client.post(VERIFY).content.decode()
    assert "The chain contradicts a signed checkpoint" in content
    assert "events were removed" in content
