"""The bulk append to the audit hash chain: many events in one pass, hashed exactly as
``apps.audit.services.audit_record`` hashes one (``apps.audit.chain.compute_hash`` over the
same fields, each linked to the one before), then the chain head moved once.

``audit_record`` locks the head row and writes one event per call: right for a service, too
slow for a million events. Here the head is locked once, the events are hashed in Python in
the order given, written in chunks (binary-free ``COPY`` on PostgreSQL, ``bulk_create``
elsewhere), and the head row is set to the last event. On PostgreSQL the per-row trigger that
checks each insert against the head row (migration ``audit.0004``) cannot see a head that
moves only at the end, so it is disabled for this transaction only (``ALTER TABLE ... DISABLE
TRIGGER`` is transactional: it is enabled again before the commit, and a failure rolls both
back); the head guard still checks the final head names the last event, and
``manage.py verify_audit_log`` re-checks every hash afterwards.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any, NamedTuple

from django.db import connection, transaction

from apps.audit.chain import compute_hash, normalise
from apps.audit.models import AuditChainHead, AuditEvent

#: Events written per COPY / bulk_create.
CHUNK = 20_000

COLUMNS = (
    "sequence",
    "occurred_at",
    "actor_id",
    "actor_username",
    "action",
    "object_type",
    "object_id",
    "object_repr",
    "model_ref",
    "changes",
    "message",
    "request_id",
    "client_ip",
    "prev_hash",
    "hash",
)

TRIGGER = "audit_event_extends_head"


class Event(NamedTuple):
    """One event to append: what ``audit_record`` is given, with its time."""

    at: datetime
    actor_id: int | None
    actor_username: str
    action: str
    object_type: str
    object_id: str
    object_repr: str
    model_ref: int | None = None
    changes: dict[str, Any] | None = None
    message: str = ""
    request_id: str = ""
    #: ``changes`` is already what it reads back as (plain strings): no JSON round trip.
    plain: bool = False


def _rows(events: Iterable[Event], sequence: int, prev_hash: str):
    """The events as chain rows (dicts of ``COLUMNS``), hashed in order."""
    for event in events:
        sequence += 1
        row = {
            "sequence": sequence,
            "occurred_at": event.at,
            "actor_id": event.actor_id,
            "actor_username": event.actor_username if event.actor_id else "system",
            "action": event.action,
            "object_type": event.object_type,
            "object_id": str(event.object_id),
            "object_repr": event.object_repr[:300],
            "model_ref": event.model_ref,
            "changes": (event.changes or {}) if event.plain else normalise(event.changes or {}),
            "message": event.message,
            "request_id": event.request_id,
            "client_ip": "",
            "prev_hash": prev_hash,
        }
        row["hash"] = prev_hash = compute_hash(row)
        yield row


def audit_append_bulk(events: Iterable[Event]) -> int:
    """Append ``events`` (in the order given) to the chain; returns how many. Runs in its own
    transaction (or the caller's)."""
    with transaction.atomic():
        head, _ = AuditChainHead.objects.select_for_update(of=("self",)).get_or_create(pk=1)
        sequence, prev_hash = head.sequence, head.hash
        postgres = connection.vendor == "postgresql"
        table = AuditEvent._meta.db_table
        if postgres:
            _set_trigger(table, "DISABLE")
        count = 0
        chunk: list[dict] = []
        for row in _rows(events, sequence, prev_hash):
            chunk.append(row)
            if len(chunk) >= CHUNK:
                _write(chunk, postgres=postgres)
                count += len(chunk)
                sequence, prev_hash = chunk[-1]["sequence"], chunk[-1]["hash"]
                chunk = []
        if chunk:
            _write(chunk, postgres=postgres)
            count += len(chunk)
            sequence, prev_hash = chunk[-1]["sequence"], chunk[-1]["hash"]
        if postgres:
            _set_trigger(table, "ENABLE")
        if count:
            head.sequence, head.hash = sequence, prev_hash
            head.save(update_fields=["sequence", "hash"])
    return count


def _set_trigger(table: str, verb: str) -> None:
    """Disable or enable the per-row head check. The foreign-key checks Django defers to
    the commit are run first (PostgreSQL alters no table with checks pending), then deferred
    again."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(f"ALTER TABLE {table} {verb} TRIGGER {TRIGGER}")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def _write(rows: list[dict], *, postgres: bool) -> None:
    if not postgres:
        AuditEvent.objects.bulk_create([AuditEvent(**row) for row in rows], batch_size=500)
        return
    table = AuditEvent._meta.db_table
    sql = f"COPY {table} ({', '.join(COLUMNS)}) FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for row in rows:
            values = [row[name] for name in COLUMNS]
            values[9] = json.dumps(row["changes"], ensure_ascii=False)
            copy.write_row(values)
