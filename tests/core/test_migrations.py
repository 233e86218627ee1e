"""Models and migrations agree: nothing is missing a migration."""

from io import StringIO

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_no_migration_is_missing():
    out = StringIO()
    try:
        call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=out)
    except SystemExit as exc:  # --check exits non-zero when a migration would be written
        pytest.fail(f"makemigrations --check found missing migrations:\n{out.getvalue()} ({exc})")
    assert "No changes detected" in out.getvalue()
