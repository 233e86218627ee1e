"""What the test suite needs around the audit trail's guards, kept in one place.

- A transactional test ends with Django's flush, a TRUNCATE of every table, which the audit
  triggers refuse (as they refuse ``manage.py flush`` in production). The test role is a
  superuser, so the flush runs in replica mode: that one transaction skips ordinary triggers.
- Signed audit checkpoints go to a file outside the database. Each test gets its own file,
  so one test's (or an earlier run's) checkpoints never meet another test database's chain.
"""

from __future__ import annotations

import pytest
from django.db.backends.postgresql.operations import DatabaseOperations

_REPLICA = "SET LOCAL session_replication_role = replica"


def allow_test_flush() -> None:
    """Let the test database's flush pass the audit trail's TRUNCATE triggers."""
    original = DatabaseOperations.sql_flush
    if getattr(original, "_mlgov_test_flush", False):
        return

    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        statements = original(
            self, style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade
        )
        # execute_sql_flush runs the statements in one transaction: SET LOCAL ends with it.
        return [_REPLICA, *statements] if statements else statements

    sql_flush._mlgov_test_flush = True
    DatabaseOperations.sql_flush = sql_flush


@pytest.fixture(autouse=True)
def _audit_checkpoint_per_test(settings, tmp_path_factory):
    """Every test writes and reads its own audit checkpoint file."""
    directory = tmp_path_factory.mktemp("audit-checkpoints", numbered=True)
    settings.MLGOV_AUDIT_CHECKPOINT_PATH = directory / "audit_checkpoints.jsonl"
    return settings.MLGOV_AUDIT_CHECKPOINT_PATH
