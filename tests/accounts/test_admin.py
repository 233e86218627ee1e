"""User administration in the admin: roles and passwords change through audited services."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.accounts.models import User
from apps.audit.models import AuditEvent
from apps.core import roles

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fast_password_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _user_events(user: User):
    return AuditEvent.objects.filter(object_type="accounts.user", object_id=str(user.pk))


def test_an_admin_creates_a_user_with_roles(client, admin_user):
    client.force_login(admin_user)
    response = client.post(
        reverse("admin:accounts_user_add"),
        {
            "username": "new.validator",
            "usable_password": "true",
            "password1": "a-long-passphrase-2026",
            "password2": "a-long-passphrase-2026",
            "first_name": "Nina",
            "last_name": "Varga",
            "email": "nina@example.test",
            "job_title": "Validator",
            "timezone": "Europe/Budapest",
            "roles": [roles.VALIDATOR],
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    user = User.objects.get(username="new.validator")
    assert roles.roles_of(user) == {roles.VALIDATOR}
    assert user.check_password("a-long-passphrase-2026")
    assert not user.is_staff and not user.is_superuser
    event = _user_events(user).get(action="create")
    assert event.actor == admin_user
    assert event.changes["roles"]["after"] == [roles.VALIDATOR]
    assert "a-long-passphrase-2026" not in str(event.changes)


def test_an_admin_changes_roles_and_staff_status_follows(client, admin_user, viewer):
    client.force_login(admin_user)
    url = reverse("admin:accounts_user_change", args=[viewer.pk])
    assert client.get(url).status_code == 200
    data = {
        "username": viewer.username,
        "first_name": viewer.first_name,
        "last_name": viewer.last_name,
        "email": viewer.email,
        "job_title": "Platform administrator",
        "timezone": viewer.timezone,
        "is_active": "on",
        "roles": [roles.ADMIN],
    }
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    viewer = User.objects.get(pk=viewer.pk)
    assert roles.roles_of(viewer) == {roles.ADMIN}
    assert viewer.is_staff
    assert viewer.job_title == "Platform administrator"
    role_event = _user_events(viewer).get(message="Roles changed")
    assert role_event.changes["roles"] == {"before": [roles.VIEWER], "after": [roles.ADMIN]}
    assert _user_events(viewer).filter(action="update", changes__has_key="job_title").exists()


def test_an_admin_resets_a_password_and_it_is_audited(client, admin_user, viewer):
    client.force_login(admin_user)
    url = reverse("admin:auth_user_password_change", args=[viewer.pk])
    response = client.post(
        url,
        {
            "usable_password": "true",
            "password1": "reset-phrase-2026!",
            "password2": "reset-phrase-2026!",
        },
    )
    assert response.status_code == 302, response.context["form"].errors
    viewer.refresh_from_db()
    assert viewer.check_password("reset-phrase-2026!")
    event = _user_events(viewer).get(message="Password set")
    assert event.actor == admin_user
    assert "reset-phrase" not in str(event.changes)


def test_an_admin_cannot_remove_their_own_admin_role(client, admin_user):
    client.force_login(admin_user)
    url = reverse("admin:accounts_user_change", args=[admin_user.pk])
    data = {
        "username": admin_user.username,
        "timezone": "UTC",
        "is_active": "on",
        "roles": [roles.VIEWER],
    }
    response = client.post(url, data, follow=True)
    assert "cannot remove your own administrator role" in response.content.decode()
    assert roles.roles_of(User.objects.get(pk=admin_user.pk)) == {roles.ADMIN}


def test_role_groups_and_api_tokens_are_not_editable_in_the_admin(client, admin_user):
    client.force_login(admin_user)
    app_list = client.get(reverse("admin:index")).context["app_list"]
    names = {m["object_name"] for app in app_list for m in app["models"]}
    assert "Group" not in names
    assert "TokenProxy" not in names
    assert "User" in names


@pytest.mark.parametrize(
    "persona", ["validator", "business_owner", "model_owner", "auditor", "viewer", "outsider"]
)
def test_only_admins_reach_user_administration(client, request, persona):
    user = request.getfixturevalue(persona)
    client.force_login(user)
    response = client.get(reverse("admin:accounts_user_changelist"))
    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]
