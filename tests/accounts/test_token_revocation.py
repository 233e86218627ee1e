"""Tokens stop working when revoked: on every path that changes a password (the password
page, an administrator's reset in the admin, the services, ``set_password`` anywhere), on
deactivation, by their owner, and by an administrator (the tokens page and the admin site).
Each revocation is audited; nobody else's token is in reach."""

from __future__ import annotations

import pytest
from django.contrib.sessions.models import Session
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from apps.accounts.models import AuthToken, User
from apps.accounts.services import (
    auth_token_create,
    user_set_password,
    user_update,
)
from apps.audit.models import AuditEvent
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
PASSWORD = "correct-horse-battery"
NEW_PASSWORD = "a-much-longer-secret-42"


def works(key: str) -> bool:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client.get("/api/v1/models/").status_code == 200


def tokens_for(user, *names: str) -> list[str]:
    return [auth_token_create(actor=user, user=user, name=n)[1] for n in names]


def revocations() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action="revoke").order_by("sequence"))


def test_the_password_page_revokes_every_token(client, model_owner):
    keys = tokens_for(model_owner, "CI", "notebook")
    assert all(works(k) for k in keys)
    client.force_login(model_owner)
    response = client.post(
        reverse("accounts:password_change"),
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert not any(works(k) for k in keys)
    assert not AuthToken.objects.filter(user=model_owner).exists()
    events = revocations()
    assert len(events) == 2
    assert all("password changed" in e.message for e in events)


def test_an_admin_reset_in_the_admin_site_revokes_every_token(client, admin_user, model_owner):
    (key,) = tokens_for(model_owner, "CI")
    client.force_login(admin_user)
    url = reverse("admin:auth_user_password_change", args=[model_owner.pk])
    response = client.post(
        url,
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "set_usable_password": "true"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert not works(key)
    assert len(revocations()) == 1


def test_the_password_service_revokes_every_token(admin_user, model_owner):
    (key,) = tokens_for(model_owner, "CI")
    user_set_password(actor=admin_user, user=model_owner, password=NEW_PASSWORD)
    assert not works(key)


def test_disabling_password_login_revokes_every_token(admin_user, model_owner):
    (key,) = tokens_for(model_owner, "CI")
    user_set_password(actor=admin_user, user=model_owner, password=None)
    assert not works(key)


def test_set_password_anywhere_revokes_every_token(model_owner):
    (key,) = tokens_for(model_owner, "CI")
    user = User.objects.get(pk=model_owner.pk)
    user.set_password(NEW_PASSWORD)
    user.save()
    assert not works(key)


def test_a_rehash_at_sign_in_is_not_a_password_change(client, model_owner, settings):
    (key,) = tokens_for(model_owner, "CI")
    # A new preferred hasher: the next sign-in re-hashes the same password.
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
        "django.contrib.auth.hashers.MD5PasswordHasher",
    ]
    before = User.objects.get(pk=model_owner.pk).password
    response = client.post(
        reverse("accounts:login"), {"username": model_owner.username, "password": PASSWORD}
    )
    assert response.status_code == 302
    assert User.objects.get(pk=model_owner.pk).password != before
    assert works(key)


def test_deactivation_revokes_every_token(admin_user, model_owner):
    (key,) = tokens_for(model_owner, "CI")
    user_update(actor=admin_user, user=model_owner, is_active=False)
    assert not AuthToken.objects.filter(user=model_owner).exists()
    assert "account deactivated" in revocations()[0].message
    user_update(actor=admin_user, user=model_owner, is_active=True)
    assert not works(key)


def test_deactivation_in_the_admin_site_revokes_every_token_and_ends_every_session(
    client, admin_user, model_owner
):
    (key,) = tokens_for(model_owner, "CI")
    owner_browser = Client()
    owner_browser.force_login(model_owner)
    assert owner_browser.get(reverse("inventory:model_list")).status_code == 200
    client.force_login(admin_user)
    url = reverse("admin:accounts_user_change", args=[model_owner.pk])
    data = {
        "username": model_owner.username,
        "first_name": model_owner.first_name,
        "last_name": model_owner.last_name,
        "email": model_owner.email,
        "job_title": "",
        "timezone": "UTC",
        "roles": ["model_owner"],
        # is_active left out: unticked
    }
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    model_owner.refresh_from_db()
    assert not model_owner.is_active
    assert not works(key)
    assert Session.objects.count() == 1  # the administrator's own
    assert owner_browser.get(reverse("inventory:model_list")).status_code == 302
    ended = AuditEvent.objects.get(action=AuditEvent.Action.REVOKE, message__contains="session")
    assert ended.actor == admin_user
    assert "1 session(s) of" in ended.message and "account deactivated" in ended.message


def test_a_user_revokes_their_own_token(client, model_owner):
    ci, notebook = tokens_for(model_owner, "CI", "notebook")
    client.force_login(model_owner)
    token = AuthToken.objects.get(user=model_owner, name="CI")
    response = client.post(reverse("accounts:token_revoke"), {"token": token.pk})
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:token_list")
    assert not works(ci)
    assert works(notebook)
    (event,) = revocations()
    assert event.actor == model_owner
    assert event.object_id == str(token.pk)
    assert "by its owner" in event.message


def test_someone_elses_token_is_not_in_reach(client, model_owner, validator):
    (key,) = tokens_for(model_owner, "CI")
    token = AuthToken.objects.get(user=model_owner)
    client.force_login(validator)
    response = client.post(reverse("accounts:token_revoke"), {"token": token.pk})
    assert response.status_code == 404
    assert works(key)
    assert not revocations()


def test_an_admin_revokes_anyones_token_from_the_page(client, admin_user, model_owner):
    (key,) = tokens_for(model_owner, "CI")
    token = AuthToken.objects.get(user=model_owner)
    client.force_login(admin_user)
    page = client.get(reverse("accounts:token_list_all")).content.decode()
    assert "mo.owner" in page and "CI" in page and token.token_key in page
    response = client.post(reverse("accounts:token_revoke"), {"token": token.pk})
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:token_list_all")
    assert not works(key)
    (event,) = revocations()
    assert event.actor == admin_user and "by an admin" in event.message


def test_an_admin_revokes_a_token_in_the_admin_site(client, admin_user, model_owner):
    (key,) = tokens_for(model_owner, "CI")
    token = AuthToken.objects.get(user=model_owner)
    client.force_login(admin_user)
    listing = client.get(reverse("admin:accounts_authtoken_changelist"))
    assert listing.status_code == 200 and "CI" in listing.content.decode()
    url = reverse("admin:accounts_authtoken_delete", args=[token.pk])
    response = client.post(url, {"post": "yes"})
    assert response.status_code == 302
    assert not works(key)
    assert revocations()[0].actor == admin_user


def test_the_admin_site_cannot_make_tokens(client, admin_user):
    client.force_login(admin_user)
    assert client.get(reverse("admin:accounts_authtoken_add")).status_code == 403


def test_the_everyones_tokens_page_is_for_admins_only(client, validator):
    client.force_login(validator)
    assert client.get(reverse("accounts:token_list_all")).status_code == 403


def test_an_inactive_user_cannot_get_a_token(admin_user):
    user = UserFactory(username="gone", is_active=False)
    with pytest.raises(CommandError, match="deactivated"):
        call_command("drf_create_token", user.username)
