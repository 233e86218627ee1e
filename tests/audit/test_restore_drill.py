"""The restore drill against real PostgreSQL, with pg_dump and pg_restore from this machine:
a good backup verifies, an older one is reported with the events it would lose, a rewritten
one is caught, and the scratch database is always dropped."""

from __future__ import annotations

import os
import shutil
import subprocess
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from apps.audit.models import AuditChainHead
from apps.audit.services import audit_checkpoint_write
from apps.inventory import services
from tests.audit.tamper import edit_and_rehash

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _client_tools():
    if not all(shutil.which(tool) for tool in ("pg_dump", "pg_restore", "psql")):
        pytest.skip("needs pg_dump, pg_restore and psql (PostgreSQL client tools)")


def _databases() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT datname FROM pg_database WHERE datname LIKE 'mlgov_drill_%%'")
        return {name for (name,) in cursor.fetchall()}


def _dump(tmp_path: Path, *, fmt: str = "custom") -> Path:
    s = connection.settings_dict
    target = tmp_path / ("backup.dump" if fmt == "custom" else "backup.sql")
    env = {**os.environ, "PGPASSWORD": s.get("PASSWORD") or ""}
    command = [
        "pg_dump", f"--format={fmt}", "--no-owner", "--no-privileges",
        "--host", s["HOST"] or "127.0.0.1", "--port", str(s["PORT"] or 5432),
        "--username", s["USER"] or "postgres", "--file", str(target), s["NAME"],
    ]  # fmt: skip
    subprocess.run(command, env=env, check=True, timeout=120, capture_output=True)
    return target


def _drill(dump: Path, *args, fails: int | None = None) -> tuple[str, str]:
    """Run the drill; ``fails``: the exit status it must end with instead of 0."""
    out, err = StringIO(), StringIO()
    command = ("audit_restore_drill", "--dump", str(dump), *args)
    if fails is None:
        call_command(*command, stdout=out, stderr=err)
    else:
        with pytest.raises(CommandError) as exc:
            call_command(*command, stdout=out, stderr=err)
        assert exc.value.returncode == fails, str(exc.value)
        err.write(str(exc.value))
    return out.getvalue(), err.getvalue()


@pytest.fixture
def history(model_owner, owned_model):
    AuditChainHead.objects.get_or_create(pk=1)  # as after migrate: a flush may have removed it
    for i in range(4):
        services.registered_model_update(actor=model_owner, model=owned_model, purpose=f"P{i}")


@pytest.mark.parametrize("fmt", ["custom", "plain"])
def test_a_current_backup_restores_and_verifies(history, tmp_path, fmt):
    checkpoint = audit_checkpoint_write(reason="before backup")
    before = _databases()
    out, err = _drill(_dump(tmp_path, fmt=fmt))
    assert "Audit chain OK: 4 events" in out
    assert "Checkpoint VERIFIED: the chain holds the latest signed checkpoint it reaches" in out
    assert checkpoint.hash in out
    assert "Restore drill PASSED." in out
    assert "was dropped" in out and err == ""
    assert _databases() == before


def test_an_older_backup_counts_the_events_a_restore_would_lose(
    history, tmp_path, model_owner, owned_model
):
    audit_checkpoint_write(reason="before backup")
    dump = _dump(tmp_path)
    for i in range(3):
        services.registered_model_update(actor=model_owner, model=owned_model, purpose=f"Q{i}")
    audit_checkpoint_write(reason="after backup")
    out, err = _drill(dump)
    assert "Checkpoint VERIFIED" in out
    assert "the backup ends at sequence 4, before the latest checkpoint (sequence 7" in err
    assert "would lose 3 or more audit events" in err


def test_a_rewritten_backup_is_caught(history, tmp_path):
    audit_checkpoint_write(reason="before the rewrite")
    edit_and_rehash(2)  # as the owner: triggers disabled, then enabled again
    before = _databases()
    _, err = _drill(_dump(tmp_path), fails=1)
    assert "Audit chain BROKEN: event 4 has hash" in err
    assert "the chain was rewritten up to it" in err
    assert "Restore drill FAILED" in err
    assert _databases() == before


def test_a_backup_no_checkpoint_vouches_for_is_not_verified(history, tmp_path):
    _, err = _drill(_dump(tmp_path), fails=2)
    assert "Checkpoint NOT VERIFIED: no checkpoint file at" in err
    assert "Restore drill NOT VERIFIED" in err


def test_a_dump_that_does_not_restore_fails_and_leaves_nothing(db, tmp_path):
    broken = tmp_path / "broken.sql"
    broken.write_text("CREATE TABLE x (;\n")
    before = _databases()
    _, err = _drill(broken, fails=1)
    assert "Restore drill FAILED: psql failed (exit 3)" in err
    assert _databases() == before
