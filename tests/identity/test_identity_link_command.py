"""``manage.py identity_link``: an account that predates single sign-on, linked to its
person at the provider."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from apps.identity.models import ProviderIdentity
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_it_links_an_existing_account(settings, capsys):
    settings.MLGOV_OIDC_ISSUER = "https://login.bank.example"
    user = UserFactory(username="val")
    call_command("identity_link", "val", "00u42")
    assert ProviderIdentity.objects.get(subject="00u42").user == user
    assert "val is linked to 00u42 at https://login.bank.example" in capsys.readouterr().out


def test_it_refuses_a_subject_of_someone_else(settings):
    settings.MLGOV_OIDC_ISSUER = "https://login.bank.example"
    UserFactory(username="a")
    UserFactory(username="b")
    call_command("identity_link", "a", "00u1")
    with pytest.raises(CommandError, match="already linked to a"):
        call_command("identity_link", "b", "00u1")
    with pytest.raises(CommandError, match="no user named 'c'"):
        call_command("identity_link", "c", "00u2")
