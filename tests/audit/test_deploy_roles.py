"""The compose recipe's database side, end to end on real PostgreSQL: the init script makes the
owner and application roles, the owner migrates and grants, the app then works as itself
(an audited write, the chain verified) while rewriting the trail is refused to it, and the
deploy check is clean for the app and warns for the owner.

Runs deploy/postgres-init/10-mlgov-roles.sh with unique role and database names, and drops
them afterwards.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest
from psycopg import errors, sql

from tests.core.test_deploy_check import PRODUCTION_DB, _check, _production_env

pytestmark = pytest.mark.services


@pytest.fixture(autouse=True)
def _client_tools():
    if not shutil.which("psql"):
        pytest.skip("needs psql (PostgreSQL client tools)")


ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "deploy" / "postgres-init" / "10-mlgov-roles.sh"


def _admin() -> psycopg.Connection:
    return psycopg.connect(PRODUCTION_DB, autocommit=True, connect_timeout=10)


@pytest.fixture
def installation():
    suffix = uuid.uuid4().hex[:8]
    names = {
        "MLGOV_DB_NAME": f"mlgov_roles_{suffix}",
        "MLGOV_DB_OWNER": f"mlgov_owner_{suffix}",
        "MLGOV_DB_APP_ROLE": f"mlgov_app_{suffix}",
    }
    env = {
        **os.environ,
        **names,
        "POSTGRES_USER": "postgres",
        "PGHOST": "127.0.0.1",
        "PGPORT": "5432",
        "MLGOV_DB_OWNER_PASSWORD": "owner-secret",
        "MLGOV_DB_APP_PASSWORD": "app-secret",
    }
    try:
        result = subprocess.run(
            ["sh", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 0, result.stderr
        yield names
    finally:
        with _admin() as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(names["MLGOV_DB_NAME"])
                )
            )
            for role in (names["MLGOV_DB_APP_ROLE"], names["MLGOV_DB_OWNER"]):
                admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


def _url(role: str, password: str, db: str) -> str:
    return f"postgres://{role}:{password}@127.0.0.1:5432/{db}"


def _manage(env: dict, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_the_owner_migrates_and_grants_and_the_app_role_appends_only(installation, tmp_path):
    db, owner, app = (
        installation["MLGOV_DB_NAME"],
        installation["MLGOV_DB_OWNER"],
        installation["MLGOV_DB_APP_ROLE"],
    )
    owner_url, app_url = _url(owner, "owner-secret", db), _url(app, "app-secret", db)
    common = {"MLGOV_VAR_DIR": str(tmp_path), "MLGOV_DB_APP_ROLE": app}
    as_owner = _production_env(DATABASE_URL=owner_url, **common)
    as_app = _production_env(DATABASE_URL=app_url, **common)
    as_app["MLGOV_SIGNING_KEY"] = as_owner["MLGOV_SIGNING_KEY"]

    migrated = _manage(as_owner, "migrate", "--noinput")
    assert migrated.returncode == 0, migrated.stderr
    granted = _manage(as_owner, "audit_grant_app_role")
    assert granted.returncode == 0, granted.stderr
    assert f"{app} may now use every table, but only read and append" in granted.stdout

    app_check = _check(as_app)
    assert app_check.returncode == 0, app_check.stdout + app_check.stderr
    owner_check = _check(as_owner)
    assert f"connects as {owner}, which owns the audit table" in owner_check.stderr

    # The app at work as its own role: an administrator made, the demo data loaded (models,
    # versions, metrics ingested, approvals, incidents, reports, all audited), a checkpoint
    # signed and the chain verified against it.
    in_process = {**as_app, "CELERY_TASK_ALWAYS_EAGER": "true", "REDIS_URL": ""}
    made = _manage(
        {**in_process, "MLGOV_ADMIN_PASSWORD": "a-long-admin-password"}, "create_admin", "root"
    )
    assert made.returncode == 0, made.stderr
    seeded = _manage({**in_process, "MLGOV_DEMO_PASSWORD": "a-long-demo-password"}, "seed_demo")
    assert seeded.returncode == 0, seeded.stderr[-3000:]
    checkpointed = _manage(in_process, "audit_checkpoint", "--reason", "before backup")
    assert checkpointed.returncode == 0, checkpointed.stderr
    verified = _manage(in_process, "verify_audit_log", "--require-checkpoint")
    assert verified.returncode == 0, verified.stderr
    assert "Audit chain OK: " in verified.stdout
    assert "Checkpoint VERIFIED" in verified.stdout

    with psycopg.connect(app_url, autocommit=True, connect_timeout=10) as conn:
        assert conn.execute("SELECT count(*) FROM audit_auditevent").fetchone()[0] >= 1
        for statement in (
            "TRUNCATE audit_auditevent",
            "DELETE FROM audit_auditevent",
            "ALTER TABLE audit_auditevent DISABLE TRIGGER USER",
            "SET session_replication_role = replica",
        ):
            with pytest.raises(errors.InsufficientPrivilege):
                conn.execute(statement)
    with psycopg.connect(owner_url, autocommit=True, connect_timeout=10) as conn:
        assert conn.execute(
            "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"
        ).fetchone() == (False,)


@pytest.fixture
def legacy_installation(tmp_path):
    """A database migrated by a superuser, as compose recipes before the two roles made it."""
    suffix = uuid.uuid4().hex[:8]
    names = {"db": f"mlgov_legacy_{suffix}", "owner": f"mlgov_owner_{suffix}"}
    names["app"] = f"mlgov_app_{suffix}"
    with _admin() as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(names["db"])))
    try:
        yield names
    finally:
        with _admin() as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(names["db"])
                )
            )
            for role in (names["app"], names["owner"]):
                admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


def test_an_existing_database_moves_to_the_two_roles(legacy_installation, tmp_path):
    db, owner, app = (legacy_installation[k] for k in ("db", "owner", "app"))
    common = {"MLGOV_VAR_DIR": str(tmp_path), "MLGOV_DB_APP_ROLE": app}
    as_superuser = _production_env(DATABASE_URL=_url("postgres", "", db), **common)
    migrated = _manage(as_superuser, "migrate", "--noinput")
    assert migrated.returncode == 0, migrated.stderr

    command = [
        "psql", "-v", "ON_ERROR_STOP=1", "--no-psqlrc", "-h", "127.0.0.1", "-U", "postgres",
        "-d", db, "-v", f"owner={owner}", "-v", f"app={app}",
        "-v", "owner_password=owner-secret", "-v", "app_password=app-secret",
        "-f", str(ROOT / "deploy" / "two-roles-upgrade.sql"),
    ]  # fmt: skip
    upgrade = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert upgrade.returncode == 0, upgrade.stderr

    as_owner = {**as_superuser, "DATABASE_URL": _url(owner, "owner-secret", db)}
    as_app = {**as_superuser, "DATABASE_URL": _url(app, "app-secret", db)}
    for step in (("migrate", "--noinput"), ("audit_grant_app_role",)):
        done = _manage(as_owner, *step)
        assert done.returncode == 0, done.stderr
    app_check = _check(as_app)
    assert app_check.returncode == 0, app_check.stdout + app_check.stderr
    with (
        psycopg.connect(_url(app, "app-secret", db), autocommit=True) as conn,
        pytest.raises(errors.InsufficientPrivilege),
    ):
        conn.execute("TRUNCATE audit_auditevent")
    with _admin() as admin:
        owners = admin.execute(
            sql.SQL("SELECT datdba::regrole::text FROM pg_database WHERE datname = %s"), [db]
        ).fetchone()
    assert owners == (owner,)
