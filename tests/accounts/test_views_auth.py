"""Sign in, lockout after repeated failures, sign out and password change in the browser."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.accounts.lockout import axes_failure_limit
from apps.audit.models import AuditEvent
from tests.factories import UserFactory

PASSWORD = "correct-horse-battery"


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Factories hash a password per user; the slow production hasher adds nothing here."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_it_shows_the_login_page(client, db):
    response = client.get(reverse("accounts:login"))
    assert response.status_code == 200
    assert b'<label for="id_username"' in response.content
    assert b"Skip to main content" in response.content


def test_it_redirects_anonymous_users_to_login(client, db):
    response = client.get(reverse("dashboard:home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_it_signs_in_and_goes_to_the_dashboard(client, validator):
    response = client.post(
        reverse("accounts:login"), {"username": validator.username, "password": PASSWORD}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard:home")
    assert client.get(reverse("dashboard:home")).status_code == 200


def test_it_rejects_a_wrong_password_with_a_message(client, validator):
    response = client.post(
        reverse("accounts:login"), {"username": validator.username, "password": "wrong"}
    )
    assert response.status_code == 200
    assert b"correct username and password" in response.content


def test_a_failed_sign_in_says_only_why(client, validator):
    """Nothing was being saved: the message is the reason, without "could not be saved"."""
    response = client.post(
        reverse("accounts:login"), {"username": validator.username, "password": "wrong"}
    )
    text = response.content.decode()
    assert "could not be saved" not in text
    assert "Please correct the fields" not in text
    assert 'role="alert"' in text and "correct username and password" in text


def test_other_forms_keep_their_heading(client, validator):
    client.force_login(validator)
    response = client.post(
        reverse("accounts:password_change"),
        {"old_password": "wrong", "new_password1": "x", "new_password2": "y"},
    )
    assert b"Please correct the fields marked below." in response.content


def test_it_locks_out_after_repeated_failures(client, validator, settings):
    for _ in range(axes_failure_limit()):
        client.post(reverse("accounts:login"), {"username": validator.username, "password": "x"})
    response = client.post(
        reverse("accounts:login"), {"username": validator.username, "password": PASSWORD}
    )
    assert response.status_code in (403, 429)
    assert b"Too many failed sign-in attempts" in response.content
    assert "_auth_user_id" not in client.session


def test_it_signs_out_only_by_post(client, viewer):
    client.force_login(viewer)
    assert client.get(reverse("accounts:logout")).status_code == 405
    response = client.post(reverse("accounts:logout"))
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session


def test_it_changes_the_password(client, db):
    user = UserFactory(username="pat.change", roles=["viewer"])
    client.force_login(user)
    assert client.get(reverse("accounts:password_change")).status_code == 200
    response = client.post(
        reverse("accounts:password_change"),
        {
            "old_password": PASSWORD,
            "new_password1": "a-much-longer-secret-42",
            "new_password2": "a-much-longer-secret-42",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:password_change_done")
    user.refresh_from_db()
    assert user.check_password("a-much-longer-secret-42")
    assert client.get(reverse("accounts:password_change_done")).status_code == 200


def test_changing_ones_password_is_audited_without_the_password(client, db):
    user = UserFactory(username="pat.audit", roles=["viewer"])
    client.force_login(user)
    client.post(
        reverse("accounts:password_change"),
        {
            "old_password": PASSWORD,
            "new_password1": "a-much-longer-secret-42",
            "new_password2": "a-much-longer-secret-42",
        },
    )
    event = AuditEvent.objects.get(object_type="accounts.user", object_id=str(user.pk))
    assert (event.actor, event.action, event.message) == (user, "update", "Own password changed")
    assert "a-much-longer-secret-42" not in str(event.changes) + event.message
    assert "_auth_user_id" in client.session  # this session stays signed in


def test_it_refuses_a_weak_new_password_with_a_field_message(client, db):
    user = UserFactory(username="pat.weak", roles=["viewer"])
    client.force_login(user)
    response = client.post(
        reverse("accounts:password_change"),
        {"old_password": PASSWORD, "new_password1": "short", "new_password2": "short"},
    )
    assert response.status_code == 200
    assert b"too short" in response.content
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_the_nav_shows_only_what_the_role_allows(client, viewer, auditor):
    client.force_login(viewer)
    page = client.get(reverse("dashboard:home")).content
    assert reverse("inventory:model_list").encode() in page
    assert reverse("audit:event_list").encode() not in page
    client.force_login(auditor)
    page = client.get(reverse("dashboard:home")).content
    assert reverse("audit:event_list").encode() in page
