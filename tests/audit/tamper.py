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


@contextmanager
def owner_cursor() -> Iterator:
    """A cursor as the tables' owner would use it: on PostgreSQL the audit triggers are
    disabled (``ALTER TABLE ... DISABLE TRIGGER USER``, which ownership allows) and enabled
    again afterwards, all inside the test's transaction."""
    tables = ("audit_auditevent", "audit_auditchainhead")
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no pending checks before DDL
            for table in tables:
                cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        try:
            yield cursor
        finally:
            if connection.vendor == "postgresql":
                for table in tables:
                    cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")


def set_head(cursor, sequence: int, digest: str) -> None:
    cursor.execute(
        "UPDATE audit_auditchainhead SET sequence = %s, hash = %s WHERE id = 1", [sequence, digest]
    )


def cut_tail_and_rewrite_head(keep: int) -> None:
    """Remove every event after ``keep`` and point the head at event ``keep``."""
    with owner_cursor() as cursor:
        cursor.execute("SELECT hash FROM audit_auditevent WHERE sequence = %s", [keep])
        (digest,) = cursor.fetchone()
        cursor.execute("DELETE FROM audit_auditevent WHERE sequence > %s", [keep])
        set_head(cursor, keep, digest)


def truncate_and_reset_head() -> None:
    """Empty the audit table and reset the head to the empty chain."""
    from apps.audit.chain import GENESIS_HASH

    with owner_cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("TRUNCATE audit_auditevent")
        else:  # SQLite has no TRUNCATE
            cursor.execute("DELETE FROM audit_auditevent")
        set_head(cursor, 0, GENESIS_HASH)


def edit_and_rehash(sequence: int, message: str = "rewritten") -> None:
    """Change one event's message and recompute its hash and every later one, links and
    head included: a chain that is consistent in itself."""
    from apps.audit.chain import compute_hash
    from apps.audit.models import AuditEvent

    events = list(AuditEvent.objects.filter(sequence__gte=sequence).order_by("sequence"))
    prev_hash = events[0].prev_hash
    with owner_cursor() as cursor:
        for event in events:
            if event.sequence == sequence:
                event.message = message
            event.prev_hash = prev_hash
            event.hash = compute_hash(event.as_chain_dict())
            cursor.execute(
                "UPDATE audit_auditevent SET message = %s, prev_hash = %s, hash = %s WHERE id = %s",
                [event.message, event.prev_hash, event.hash, event.pk],
            )
            prev_hash = event.hash
        set_head(cursor, events[-1].sequence, prev_hash)
