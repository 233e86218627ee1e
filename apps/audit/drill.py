"""The restore drill: restore a ``pg_dump`` into a scratch database, verify the audit chain
there against the signed checkpoints, report, and drop the scratch database.

It proves two things an auditor asks about backups: the dump restores, and the audit trail in
it is the one the checkpoints outside the database vouch for (a dump taken before the latest
checkpoint is fine, but the events it would lose are counted).

The scratch database is created on the server of the ``default`` database, by the role mlgov
connects as there (it needs CREATEDB: run the drill as the owner role, not the app role).
``pg_restore`` (custom, directory or tar dumps) or ``psql`` (plain SQL) do the restore, with
the same host, port, user and password.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg
from django.conf import settings as django_settings
from django.db import connections
from psycopg import sql

from apps.core import clock


class DrillError(Exception):
    """The drill could not run (no PostgreSQL, unreadable dump, failed restore); the message
    says which step and why."""


@dataclass
class DrillReport:
    """What the drill did: where it restored, how long it took, and what
    ``verify_audit_log --backup --require-checkpoint`` said about the restored database
    (its exit status: 0 verified, 1 broken, 2 no checkpoint vouches for it)."""

    dump: Path
    database: str
    restore_seconds: float = 0.0
    verify_status: int | None = None
    verify_output: str = ""
    verify_errors: str = ""
    dropped: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.verify_status == 0


def _settings() -> dict:
    connection = connections["default"]
    if connection.vendor != "postgresql":
        raise DrillError(
            "The restore drill needs PostgreSQL (DATABASE_URL): the dump is restored into a "
            "scratch database on the same server."
        )
    return connection.settings_dict


def _conninfo(settings: dict, dbname: str) -> dict:
    return {
        "host": settings.get("HOST") or "127.0.0.1",
        "port": str(settings.get("PORT") or 5432),
        "user": settings.get("USER") or None,
        "password": settings.get("PASSWORD") or None,
        "dbname": dbname,
    }


def _admin(settings: dict) -> psycopg.Connection:
    info = _conninfo(settings, settings["NAME"])
    return psycopg.connect(
        **{k: v for k, v in info.items() if v is not None}, autocommit=True, connect_timeout=15
    )


def _is_plain_sql(dump: Path) -> bool:
    if dump.is_dir():
        return False
    with dump.open("rb") as handle:
        head = handle.read(512)
    if head.startswith(b"PGDMP"):
        return False  # custom format
    return not (len(head) >= 262 and head[257:262] == b"ustar")  # tar format


def _restore(dump: Path, info: dict, *, timeout: float) -> None:
    env = {**os.environ}
    if info["password"]:
        env["PGPASSWORD"] = info["password"]
    common = ["--host", info["host"], "--port", info["port"]]
    if info["user"]:
        common += ["--username", info["user"]]
    if _is_plain_sql(dump):
        command = [
            "psql", *common, "--no-psqlrc", "--quiet", "--set", "ON_ERROR_STOP=1",
            "--dbname", info["dbname"], "--file", str(dump),
        ]  # fmt: skip
    else:
        command = [
            "pg_restore", *common, "--no-owner", "--no-privileges", "--exit-on-error",
            "--dbname", info["dbname"], str(dump),
        ]  # fmt: skip
    try:
        result = subprocess.run(  # noqa: S603 (fixed programs, arguments from the operator)
            command, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
    except FileNotFoundError as exc:
        raise DrillError(f"{command[0]} is not installed (PostgreSQL client tools).") from exc
    except subprocess.TimeoutExpired as exc:
        raise DrillError(f"{command[0]} did not finish within {timeout:.0f} s.") from exc
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()
        raise DrillError(
            f"{command[0]} failed (exit {result.returncode}): " + " | ".join(detail[-5:])
        )


def _scratch_url(database: str) -> str:
    """DATABASE_URL with the scratch database's name (host, credentials and options kept)."""
    parts = urlsplit(django_settings.DATABASE_URL)
    return urlunsplit(parts._replace(path=f"/{quote(database)}"))


def _verify(report: DrillReport, checkpoint_path: Path, *, timeout: float) -> None:
    """Run ``verify_audit_log`` against the scratch database in a fresh process, so the
    restored database is checked exactly as a live one would be, with this installation's
    settings and keys."""
    command = [
        sys.executable, str(Path(django_settings.BASE_DIR) / "manage.py"), "verify_audit_log",
        "--backup", "--require-checkpoint", "--checkpoints", str(checkpoint_path),
    ]  # fmt: skip
    env = {**os.environ, "DATABASE_URL": _scratch_url(report.database)}
    try:
        result = subprocess.run(  # noqa: S603 (this installation's own manage.py)
            command, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise DrillError(f"verify_audit_log did not finish within {timeout:.0f} s.") from exc
    report.verify_status = result.returncode
    report.verify_output = result.stdout.strip()
    report.verify_errors = result.stderr.strip()


def scratch_name() -> str:
    return f"mlgov_drill_{clock.now():%Y%m%d%H%M%S}_{secrets.token_hex(3)}"


def restore_drill(
    *,
    dump: Path,
    checkpoint_path: Path,
    keep: bool = False,
    timeout: float = 3600.0,
    database: str | None = None,
) -> DrillReport:
    """Restore ``dump`` into a new scratch database, verify its audit chain against the
    checkpoints in ``checkpoint_path`` and drop the database again (unless ``keep``)."""
    settings = _settings()
    if not dump.exists():
        raise DrillError(f"The dump {dump} does not exist.")
    report = DrillReport(dump=dump, database=database or scratch_name())
    name = sql.Identifier(report.database)
    with _admin(settings) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(name))
    try:
        started = time.monotonic()
        _restore(dump, _conninfo(settings, report.database), timeout=timeout)
        report.restore_seconds = time.monotonic() - started
        _verify(report, checkpoint_path, timeout=timeout)
    finally:
        if keep:
            report.notes.append(f"The scratch database {report.database} was kept (--keep).")
        else:
            with _admin(settings) as admin:
                admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
            report.dropped = True
    return report
