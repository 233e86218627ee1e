"""Changing the audit table behind the app's back, as someone with database access would.

On PostgreSQL the immutability trigger refuses UPDATE and DELETE, so the cursor switches the
session to replica mode (ordinary triggers are skipped; the test role is a superuser) and back.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection


@contextmanager
def raw_cursor() -> Iterator:
    """A cursor that bypasses the app and, on PostgreSQL, the immutability trigger."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = replica")
        try:
            yield cursor
        finally:
            if connection.vendor == "postgresql":
                cursor.execute("SET session_replication_role = DEFAULT")


def raw_sql(sql: str, params: list) -> None:
    with raw_cursor() as cursor:
        cursor.execute(sql, params)


def forge_message(event_pk: int, message: str = "tampered") -> None:
    """Overwrite one stored event's message."""
    raw_sql("UPDATE audit_auditevent SET message = %s WHERE id = %s", [message, event_pk])
