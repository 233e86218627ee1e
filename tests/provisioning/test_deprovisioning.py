"""A leaver loses access the moment the provider says so: one SCIM request ends the
person's browser sessions and revokes their API tokens, and the next request of each is
refused. Their account, history and signatures stay."""

from __future__ import annotations

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from apps.accounts.models import AuthToken, User
from apps.accounts.services import auth_token_create
from apps.audit.models import AuditEvent
from apps.core import roles
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
PASSWORD = "correct-horse-battery"


def signed_in_with_token(user_name: str):
    """The person's browser (signed in with a password) and their API client (a token)."""
    user = User.objects.get(username=user_name)
    user.set_password(PASSWORD)
    user.save()
    browser = Client()
    signed_in = browser.post(
        reverse("accounts:login"), {"username": user_name, "password": PASSWORD}
    )
    assert signed_in.status_code == 302, signed_in.content
    assert browser.get("/inventory/models/").status_code == 200
    _, key = auth_token_create(actor=user, user=user, name="notebook")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get("/api/v1/models/").status_code == 200
    return browser, api


def give_role(user_name: str) -> None:
    UserFactory(username=user_name, roles=[roles.VIEWER])


@pytest.mark.parametrize("how", ["patch-entra", "patch-okta", "put", "delete"])
def test_a_scim_deactivation_ends_sessions_and_tokens_within_one_request(scim, how):
    body = scim.create_user("ada@bank.example")
    give_role("ada@bank.example")
    browser, api = signed_in_with_token("ada@bank.example")
    path = f"/Users/{body['id']}"
    if how == "patch-entra":
        answer = scim.patch(path, {"op": "Replace", "path": "active", "value": "False"})
    elif how == "patch-okta":
        answer = scim.patch(path, {"op": "replace", "value": {"active": False}})
    elif how == "put":
        answer = scim.put(path, {**body, "active": False})
    else:
        answer = scim.delete(path)
    assert answer.status in (200, 204), answer.body
    # The very next request of each is refused.
    page = browser.get("/inventory/models/")
    assert page.status_code == 302 and "/accounts/login/" in page["Location"]
    assert api.get("/api/v1/models/").status_code == 401
    assert not AuthToken.objects.filter(user__username="ada@bank.example").exists()
    ended = AuditEvent.objects.get(action="revoke", object_type="accounts.user")
    assert ended.actor_username == "scim:Entra ID"
    assert "1 session(s)" in ended.message
    revoked = AuditEvent.objects.get(action="revoke", object_type="accounts.authtoken")
    assert revoked.actor_username == "scim:Entra ID"
    assert User.objects.filter(username="ada@bank.example", is_active=False).exists()


def test_it_ends_only_the_leavers_sessions(scim):
    ada = scim.create_user("ada@bank.example")
    scim.create_user("bob@bank.example")
    give_role("ada@bank.example")
    give_role("bob@bank.example")
    signed_in_with_token("ada@bank.example")
    bob_browser, bob_api = signed_in_with_token("bob@bank.example")
    assert Session.objects.count() == 2
    scim.patch(f"/Users/{ada['id']}", {"op": "replace", "path": "active", "value": False})
    assert Session.objects.count() == 1
    assert bob_browser.get("/inventory/models/").status_code == 200
    assert bob_api.get("/api/v1/models/").status_code == 200
