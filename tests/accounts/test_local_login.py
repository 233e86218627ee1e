"""Local passwords switched off (``MLGOV_LOCAL_LOGIN=false``) but for break-glass accounts,
whose every sign-in is audited as such."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.accounts import services
from apps.accounts.services import SignatureAttempt
from apps.audit.models import AuditEvent
from apps.core import roles
from apps.core.errors import ApplicationError
from tests.factories import UserFactory

PASSWORD = "correct-horse-battery"
pytestmark = pytest.mark.django_db


@pytest.fixture
def passwords_off(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MLGOV_LOCAL_LOGIN = False
    settings.MLGOV_BREAK_GLASS_USERS = ("glass",)


def test_a_password_no_longer_signs_anyone_in(client, passwords_off):
    user = UserFactory(username="val", roles=[roles.VALIDATOR])
    response = client.post(reverse("accounts:login"), {"username": "val", "password": PASSWORD})
    assert response.status_code == 200
    assert "Passwords are switched off here" in response.content.decode()
    assert "_auth_user_id" not in client.session
    # Nor a signature: a password re-entered is checked as a sign-in would be.
    with pytest.raises(ApplicationError):
        services.password_reauthenticate(
            user=user,
            password=PASSWORD,
            signature=SignatureAttempt(obj=None, model_ref=None, description="a test"),
        )


def test_a_break_glass_account_signs_in_and_is_audited(client, passwords_off):
    glass = UserFactory(username="glass", roles=[roles.ADMIN])
    response = client.post(reverse("accounts:login"), {"username": "glass", "password": PASSWORD})
    assert response.status_code == 302
    assert int(client.session["_auth_user_id"]) == glass.pk
    event = AuditEvent.objects.get(action="login", actor=glass)
    assert event.message.startswith("Break-glass sign-in with a local password by glass")


def test_the_page_offers_the_provider_and_keeps_the_form_for_break_glass(
    client, settings, passwords_off
):
    settings.MLGOV_OIDC_ISSUER = "https://login.bank.example"
    settings.MLGOV_OIDC_PROVIDER_NAME = "Bank SSO"
    page = client.get(reverse("accounts:login")).content.decode()
    assert "Sign in with Bank SSO" in page
    assert "Break-glass sign-in (administrators)" in page


def test_passwords_stay_on_by_default(client, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    UserFactory(username="val", roles=[roles.VALIDATOR])
    response = client.post(reverse("accounts:login"), {"username": "val", "password": PASSWORD})
    assert response.status_code == 302
    assert not AuditEvent.objects.filter(action="login").exists()
