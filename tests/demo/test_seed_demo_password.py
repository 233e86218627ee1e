"""manage.py seed_demo on an empty database takes the demo password from the environment."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from apps.accounts.models import User

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fast_password_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_it_uses_the_demo_password_from_the_environment(monkeypatch):
    monkeypatch.setenv("MLGOV_DEMO_PASSWORD", "another-demo-secret")
    call_command("seed_demo", stdout=io.StringIO())
    assert User.objects.get(username="viewer").check_password("another-demo-secret")
