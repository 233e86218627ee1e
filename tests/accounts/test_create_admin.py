"""manage.py create_admin: bootstraps an administrator through the audited service."""

import pytest
from django.core.management import CommandError, call_command

from apps.accounts.models import User
from apps.audit.models import AuditEvent
from apps.core import roles


@pytest.mark.django_db
def test_it_creates_an_admin_role_user_and_records_it(monkeypatch):
    monkeypatch.setenv("MLGOV_ADMIN_PASSWORD", "a-long-unusual-passphrase")
    call_command("create_admin", "root.admin", email="root@example.test")
    user = User.objects.get(username="root.admin")
    assert roles.has_role(user, roles.ADMIN)
    assert user.is_staff and not user.is_superuser
    assert user.check_password("a-long-unusual-passphrase")
    assert AuditEvent.objects.filter(object_type="accounts.user", object_id=str(user.pk)).exists()


@pytest.mark.django_db
def test_it_refuses_a_weak_password(monkeypatch):
    monkeypatch.setenv("MLGOV_ADMIN_PASSWORD", "123")
    with pytest.raises(CommandError, match="Password refused"):
        call_command("create_admin", "weak.admin")
    assert not User.objects.filter(username="weak.admin").exists()


@pytest.mark.django_db
def test_it_refuses_an_existing_username(monkeypatch, admin_user):
    monkeypatch.setenv("MLGOV_ADMIN_PASSWORD", "a-long-unusual-passphrase")
    with pytest.raises(CommandError, match="already exists"):
        call_command("create_admin", admin_user.username)
