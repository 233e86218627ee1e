"""The database-role deploy check called directly, and what the role and drill commands say
on SQLite (the embedded default has no database roles)."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from apps.audit.checks import app_database_role

pytestmark = pytest.mark.django_db


def test_the_check_is_silent_on_sqlite_and_names_a_superuser_on_postgresql():
    warnings = app_database_role()
    if connection.vendor != "postgresql":
        assert warnings == []
        return
    # The test suite connects as the superuser that created the test database.
    assert [w.id for w in warnings] == ["audit.W001", "audit.W001"]
    assert "a superuser" in warnings[0].msg
    assert "owns the audit table audit_auditevent" in warnings[1].msg
    assert "audit_grant_app_role" in warnings[0].hint


@pytest.mark.skipif("connection.vendor == 'postgresql'")
def test_the_role_and_drill_commands_need_postgresql(tmp_path):
    with pytest.raises(CommandError, match="database roles need PostgreSQL"):
        call_command("audit_grant_app_role", "--role", "mlgov_app", stdout=StringIO())
    dump = tmp_path / "backup.dump"
    dump.write_bytes(b"PGDMP")
    with pytest.raises(CommandError, match="The restore drill needs PostgreSQL"):
        call_command("audit_restore_drill", "--dump", str(dump), stdout=StringIO())


def test_the_grant_command_needs_a_role(settings):
    settings.MLGOV_DB_APP_ROLE = ""
    with pytest.raises(CommandError, match="Name the application role"):
        call_command("audit_grant_app_role", stdout=StringIO())
