"""manage.py demo_logins: the demo address and accounts printed by `make run`."""

import io

import pytest
from django.core.management import call_command

from tests.factories import UserFactory


@pytest.mark.django_db
def test_it_lists_the_demo_users_with_their_roles_and_password(monkeypatch):
    monkeypatch.delenv("MLGOV_DEMO_PASSWORD", raising=False)
    UserFactory(username="validator", roles=["validator"])
    out = io.StringIO()
    call_command("demo_logins", stdout=out)
    text = out.getvalue()
    assert "http://127.0.0.1:8000" in text
    assert "validator" in text and "Risk & compliance" in text
    assert "mlgov-demo-2026" in text
    assert "auditor" not in text  # only accounts that exist


@pytest.mark.django_db
def test_it_says_to_seed_first_when_there_are_no_demo_users():
    out = io.StringIO()
    call_command("demo_logins", stdout=out)
    assert "seed_demo" in out.getvalue()
