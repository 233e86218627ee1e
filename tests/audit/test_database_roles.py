"""The application role on real PostgreSQL: it appends to the audit trail and uses the other
tables as usual, and every way of rewriting the trail is refused to it. The deploy check
warns when the app connects as a superuser or the tables' owner instead.

Each test creates its own uniquely named role and drops it afterwards.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from io import StringIO

import psycopg
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone
from psycopg import errors, sql

from apps.audit.chain import compute_hash, normalise
from apps.audit.models import AuditChainHead, AuditEvent
from apps.audit.selectors import audit_chain_verify
from apps.inventory import services
from tests.core.test_deploy_check import _check, _production_env

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def _execute(statement, params=()) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


@pytest.fixture
def app_role() -> Iterator[str]:
    role = f"mlgov_app_test_{uuid.uuid4().hex[:10]}"
    _execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
    try:
        yield role
    finally:
        _execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
        _execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


@pytest.fixture
def history(model_owner, owned_model):
    AuditChainHead.objects.get_or_create(pk=1)  # as after migrate: a flush may have removed it
    for i in range(3):
        services.registered_model_update(actor=model_owner, model=owned_model, purpose=f"P{i}")
    return list(AuditEvent.objects.order_by("sequence"))


def _url(role: str) -> str:
    s = connection.settings_dict
    return f"postgres://{role}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


@contextmanager
def connected_as(role: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(_url(role), autocommit=True, connect_timeout=10) as conn:
        yield conn


def _granted(role: str) -> str:
    out = StringIO()
    call_command("audit_grant_app_role", "--role", role, stdout=out)
    return out.getvalue()


def _refused(conn: psycopg.Connection, statement, params=(), *, error=errors.Error, match=None):
    with pytest.raises(error, match=match), conn.transaction():
        conn.execute(statement, params)


def _append_as(conn: psycopg.Connection, message: str) -> None:
    """What ``audit_record`` does, over the role's own connection."""
    with conn.transaction():
        sequence, prev_hash = conn.execute(
            "SELECT sequence, hash FROM audit_auditchainhead WHERE id = 1 FOR UPDATE"
        ).fetchone()
        event = {
            "sequence": sequence + 1,
            "occurred_at": timezone.now(),
            "actor_id": None,
            "actor_username": "system",
            "action": "update",
            "object_type": "test.thing",
            "object_id": "1",
            "object_repr": "thing",
            "model_ref": None,
            "changes": normalise({}),
            "message": message,
            "request_id": "",
            "client_ip": "",
            "prev_hash": prev_hash,
        }
        event["hash"] = compute_hash(event)
        conn.execute(
            "INSERT INTO audit_auditevent (sequence, occurred_at, actor_username, action, "
            "object_type, object_id, object_repr, model_ref, changes, message, request_id, "
            "client_ip, prev_hash, hash) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, '{}', %s, %s, "
            "%s, %s, %s)",
            [
                event[k]
                for k in (
                    "sequence",
                    "occurred_at",
                    "actor_username",
                    "action",
                    "object_type",
                    "object_id",
                    "object_repr",
                    "model_ref",
                    "message",
                    "request_id",
                    "client_ip",
                    "prev_hash",
                    "hash",
                )
            ],
        )
        conn.execute(
            "UPDATE audit_auditchainhead SET sequence = %s, hash = %s WHERE id = 1",
            [event["sequence"], event["hash"]],
        )


def test_the_app_role_appends_but_cannot_rewrite_the_trail(history, app_role):
    printed = _granted(app_role)
    assert f'REVOKE UPDATE, DELETE ON "public"."audit_auditevent" FROM "{app_role}"' in printed
    with connected_as(app_role) as conn:
        assert conn.execute("SELECT count(*) FROM audit_auditevent").fetchone()[0] == 3
        _append_as(conn, "appended by the application role")
        denied = errors.InsufficientPrivilege
        for statement in (
            "UPDATE audit_auditevent SET message = 'edited' WHERE sequence = 1",
            "DELETE FROM audit_auditevent WHERE sequence = 4",
            "TRUNCATE audit_auditevent",
            "DELETE FROM audit_auditchainhead",
            "TRUNCATE audit_auditchainhead",
        ):
            _refused(conn, statement, error=denied, match="permission denied")
        for statement in (
            "ALTER TABLE audit_auditevent DISABLE TRIGGER USER",
            "ALTER TABLE audit_auditevent DISABLE TRIGGER audit_event_immutable",
            "ALTER TABLE audit_auditchainhead DISABLE TRIGGER audit_head_guard",
            "DROP TRIGGER audit_event_immutable ON audit_auditevent",
        ):
            _refused(conn, statement, error=denied, match="must be owner")
        _refused(
            conn, "SET session_replication_role = replica", error=denied, match="permission denied"
        )
        # Head reset: the table's rights allow the update, the guard refuses it.
        _refused(
            conn,
            "UPDATE audit_auditchainhead SET sequence = 0, hash = %s WHERE id = 1",
            ["0" * 64],
            match="cannot move backwards",
        )
        _refused(
            conn,
            "UPDATE audit_auditchainhead SET sequence = 2, hash = %s WHERE id = 1",
            [history[1].hash],
            match="cannot move backwards",
        )
        # Only the owner migrates or creates tables.
        _refused(
            conn,
            "INSERT INTO django_migrations (app, name, applied) VALUES ('x', 'y', now())",
            error=denied,
        )
        _refused(conn, "CREATE TABLE mlgov_intruder (id int)", error=denied)
    assert AuditEvent.objects.count() == 4
    result = audit_chain_verify()
    assert (result.ok, result.count) == (True, 4)


def test_the_app_role_uses_the_other_tables_as_usual(history, app_role, owned_model):
    database = sql.Identifier(connection.settings_dict["NAME"])
    # As the init script leaves it: PUBLIC may not create temporary tables, the grant must.
    _execute(sql.SQL("REVOKE TEMPORARY ON DATABASE {} FROM PUBLIC").format(database))
    try:
        _granted(app_role)
        with connected_as(app_role) as conn, conn.transaction():
            conn.execute(
                "UPDATE inventory_registeredmodel SET name = 'Renamed' WHERE id = %s",
                [owned_model.pk],
            )
            conn.execute("DELETE FROM django_session")
            assert conn.execute("SELECT count(*) FROM django_migrations").fetchone()[0] > 0
            conn.execute("CREATE TEMPORARY TABLE staged (id int) ON COMMIT DROP")  # ingestion
    finally:
        _execute(sql.SQL("GRANT TEMPORARY ON DATABASE {} TO PUBLIC").format(database))


def test_tables_the_owner_creates_later_are_granted_by_default(db, app_role):
    _granted(app_role)
    table = f"mlgov_later_{uuid.uuid4().hex[:8]}"
    _execute(
        sql.SQL("CREATE TABLE {} (id bigint GENERATED BY DEFAULT AS IDENTITY, x int)").format(
            sql.Identifier(table)
        )
    )
    try:
        with connected_as(app_role) as conn:
            conn.execute(sql.SQL("INSERT INTO {} (x) VALUES (1)").format(sql.Identifier(table)))
            assert (
                conn.execute(
                    sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
                ).fetchone()[0]
                == 1
            )
    finally:
        _execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(table)))


def test_granting_is_refused_to_a_superuser_the_owner_or_a_missing_role(db):
    for role, reason in (
        ("postgres", "is a superuser"),
        (f"mlgov_missing_{uuid.uuid4().hex[:8]}", "does not exist"),
    ):
        with pytest.raises(CommandError, match=reason):
            _granted(role)


def test_the_deploy_check_warns_about_a_superuser_and_not_about_the_app_role(history, app_role):
    _granted(app_role)
    superuser = _check(_production_env(DATABASE_URL=_url("postgres")))
    assert "audit.W001" in superuser.stderr
    assert "connects as postgres, a superuser" in superuser.stderr
    assert "owns the audit table audit_auditevent" in superuser.stderr
    app = _check(_production_env(DATABASE_URL=_url(app_role)))
    assert "audit." not in app.stderr, app.stderr
    assert app.returncode == 0, app.stdout + app.stderr


def test_the_deploy_check_warns_about_an_owner_that_is_no_superuser(db, app_role):
    """An owner role without superuser rights (as a compose deployment's migration role)."""
    owner = f"mlgov_owner_test_{uuid.uuid4().hex[:8]}"
    _execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(owner)))
    table = sql.Identifier("audit_auditevent")
    try:
        _execute(sql.SQL("ALTER TABLE {} OWNER TO {}").format(table, sql.Identifier(owner)))
        result = _check(_production_env(DATABASE_URL=_url(owner)))
        assert f"connects as {owner}, which owns the audit table audit_auditevent" in result.stderr
        assert "superuser" not in result.stderr
    finally:
        _execute(sql.SQL("ALTER TABLE {} OWNER TO postgres").format(table))
        _execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(owner)))
        _execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(owner)))
