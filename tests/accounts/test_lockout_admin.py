"""Administrators see the lockouts in force and lift them from /accounts/lockouts/; each
lift is audited as ``unlock``; ``manage.py axes_reset_username`` still works, audited too."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.audit.models import AuditEvent
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
PASSWORD = "correct-horse-battery"
LOGIN = reverse("accounts:login")
PAGE = reverse("accounts:lockout_list")
LIFT = reverse("accounts:lockout_lift")


@pytest.fixture(autouse=True)
def _default_rules(settings):
    settings.MLGOV_LOCKOUT_RULES = [
        (("username", "ip_address"), 5, 15),
        (("username",), 10, 15),
        (("ip_address",), 0, 15),
    ]


def lock_out(client, username: str) -> None:
    for n in range(10):
        client.post(LOGIN, {"username": username, "password": "x"}, REMOTE_ADDR=f"192.0.2.{n}")


def can_sign_in(client, username: str) -> bool:
    client.logout()
    response = client.post(
        LOGIN, {"username": username, "password": PASSWORD}, REMOTE_ADDR="198.51.100.7"
    )
    client.logout()
    return response.status_code == 302


def test_the_page_lists_a_locked_username(client, admin_user, validator):
    lock_out(client, validator.username)
    client.force_login(admin_user)
    response = client.get(PAGE)
    assert response.status_code == 200
    body = response.content.decode()
    assert validator.username in body
    assert "username from any address" in body
    assert "10 failures by username from any address" in body  # the rules in force


def test_an_admin_lifts_a_lockout_and_it_is_audited(client, admin_user, validator):
    lock_out(client, validator.username)
    assert not can_sign_in(client, validator.username)
    client.force_login(admin_user)
    response = client.post(LIFT, {"username": validator.username, "ip_address": ""})
    assert response.status_code == 302
    assert validator.username not in client.get(PAGE).content.decode().split("Locked now")[1]
    (event,) = AuditEvent.objects.filter(action="unlock")
    assert event.actor == admin_user
    assert event.object_id == str(validator.pk)
    # Ten guesses and the refused sign-in with the right password while locked.
    assert event.changes["failures_cleared"]["before"] == 11
    assert can_sign_in(client, validator.username)


def test_lifting_nothing_says_so(client, admin_user):
    client.force_login(admin_user)
    response = client.post(LIFT, {"username": "nobody"}, follow=True)
    assert "There is no lockout or failure to lift" in response.content.decode()
    assert not AuditEvent.objects.filter(action="unlock").exists()


@pytest.mark.parametrize("persona", ["validator", "auditor", "viewer", "model_owner"])
def test_only_admins_see_and_lift_lockouts(client, persona, request, validator):
    lock_out(client, validator.username)
    client.force_login(request.getfixturevalue(persona))
    assert client.get(PAGE).status_code == 403
    assert client.post(LIFT, {"username": validator.username}).status_code == 403
    assert not can_sign_in(client, validator.username)


def test_the_operators_command_still_resets_a_username_and_is_audited(client, validator):
    lock_out(client, validator.username)
    call_command("axes_reset_username", validator.username)
    assert can_sign_in(client, validator.username)
    (event,) = AuditEvent.objects.filter(action="unlock")
    assert event.actor_username == "system"
    assert "by the operator" in event.message


def test_the_page_costs_the_same_queries_however_many_lockouts(client, admin_user):
    def page_queries() -> tuple[int, int]:
        client.force_login(admin_user)
        with CaptureQueriesContext(connection) as queries:
            body = client.get(PAGE).content.decode()
        client.logout()
        return len(queries), body.count("Lift<span")

    lock_out(client, UserFactory(username="locked0").username)
    one, rows_one = page_queries()
    for n in range(1, 6):
        lock_out(client, UserFactory(username=f"locked{n}").username)
    six, rows_six = page_queries()
    assert (rows_one, rows_six) == (1, 6)
    assert six == one
