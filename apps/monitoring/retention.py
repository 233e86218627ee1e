"""Observation retention: delete observations older than ``MLGOV_OBSERVATION_RETENTION_DAYS``.

Run daily by beat (``monitoring.purge_observations``, ``apps/monitoring/retention_tasks.py``).
Nothing is deleted while the setting is unset: observations are kept for ever. On a table
partitioned by month, the job also creates the partitions of the coming months. The setting is
refused at start-up below six months (``MLGOV_OBSERVATION_RETENTION_MIN_DAYS``, EU AI Act
Art. 19), and the cut-off is checked against that minimum again here.

- On a table partitioned by month (``deploy/partition_observations.sql``), a partition that
  lies wholly before the cut-off is counted and dropped: no row-by-row delete, no bloat.
- What remains before the cut-off (the boundary partition, or a plain table) is deleted in
  batches of ``MLGOV_OBSERVATION_PURGE_BATCH`` rows, each in its own short transaction, for at
  most ``MLGOV_OBSERVATION_PURGE_MAX_SECONDS``; a run that stops there goes on the next day.

Each run is audited as ONE event (object ``monitoring.observation``, action delete) with the
number of rows deleted, the cut-off and the retention, written even when the run fails
half-way (with what it had deleted by then).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, connection, transaction

from apps.audit.models import AuditEvent
from apps.audit.services import audit_record
from apps.core import clock
from apps.monitoring.ingestion import loader
from apps.monitoring.models import Observation

logger = logging.getLogger(__name__)

TABLE = Observation._meta.db_table
_BOUNDS = re.compile(r"FROM \('([^']+)'\) TO \('([^']+)'\)")
PARTITIONS_AHEAD = 3


@dataclass
class PurgeResult:
    cutoff: dt.datetime
    retention_days: int
    deleted: int = 0
    batches: int = 0
    dropped_partitions: list[str] = field(default_factory=list)
    complete: bool = True


def retention_cutoff(*, days: int | None = None, now: dt.datetime | None = None) -> dt.datetime:
    """The instant before which observations may go, never less than the legal minimum ago."""
    days = settings.MLGOV_OBSERVATION_RETENTION_DAYS if days is None else days
    if days is None or days < settings.MLGOV_OBSERVATION_RETENTION_MIN_DAYS:
        raise ImproperlyConfigured(
            f"Observation retention of {days} days is below the legal minimum of "
            f"{settings.MLGOV_OBSERVATION_RETENTION_MIN_DAYS} days (EU AI Act Art. 19)."
        )
    return (now or clock.now()) - dt.timedelta(days=days)


def observations_purge(
    *,
    days: int | None = None,
    batch_size: int | None = None,
    max_seconds: float | None = None,
) -> PurgeResult | None:
    """Delete the observations older than the retention; None when no retention is set."""
    _partitions_ahead()
    days = settings.MLGOV_OBSERVATION_RETENTION_DAYS if days is None else days
    if days is None:
        return None
    result = PurgeResult(cutoff=retention_cutoff(days=days), retention_days=days)
    batch_size = batch_size or settings.MLGOV_OBSERVATION_PURGE_BATCH
    max_seconds = (
        settings.MLGOV_OBSERVATION_PURGE_MAX_SECONDS if max_seconds is None else max_seconds
    )
    deadline = time.monotonic() + max_seconds
    try:
        for name in _partitions_before(result.cutoff):
            result.deleted += _drop_partition(name)
            result.dropped_partitions.append(name)
        while True:
            deleted = _delete_batch(result.cutoff, batch_size)
            result.deleted += deleted
            result.batches += 1 if deleted else 0
            if deleted < batch_size:
                break
            if time.monotonic() >= deadline:
                result.complete = False
                break
        if result.complete and result.deleted:
            # The series and rollups the loader keeps follow the rows.
            loader.forget_before(result.cutoff)
    except Exception:
        result.complete = False
        raise
    finally:
        _audit(result)
    return result


def _delete_batch(cutoff: dt.datetime, batch_size: int) -> int:
    """Delete at most ``batch_size`` rows older than ``cutoff`` in one short transaction: the
    rows a time-index scan finds, deleted by their physical row id (a TID scan: no join, no
    sort; 10,000 rows in about 15 ms). Row ids are unique per table only, so a partitioned
    table is purged one partition at a time."""
    ts = connection.ops.quote_name("timestamp")
    deleted = 0
    for table in _tables_before(cutoff):
        quoted = connection.ops.quote_name(table)
        if connection.vendor == "postgresql":
            sql = (
                f"DELETE FROM {quoted} WHERE ctid = ANY(ARRAY("  # noqa: S608 - names
                f"SELECT ctid FROM {quoted} WHERE {ts} < %s LIMIT %s))"
            )
        else:
            sql = (
                f"DELETE FROM {quoted} WHERE rowid IN ("  # noqa: S608 - names, not input
                f"SELECT rowid FROM {quoted} WHERE {ts} < %s LIMIT %s)"
            )
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [cutoff, batch_size - deleted])
            deleted += cursor.rowcount
        if deleted >= batch_size:
            break
    return deleted


def _partitions() -> list[tuple[str, str | None, str | None]]:
    """(name, lower bound, upper bound) of each partition; bounds None for DEFAULT."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = to_regclass(%s)",
            [TABLE],
        )
        rows = cursor.fetchall()
    found = []
    for name, bound in rows:
        match = _BOUNDS.search(bound or "")
        found.append((name, *(match.groups() if match else (None, None))))
    return found


def _tables_before(cutoff: dt.datetime) -> list[str]:
    """The tables that may hold rows older than ``cutoff``: the observation table, or the
    partitions starting before it (and DEFAULT) when it is partitioned."""
    if not _partitioned():
        return [TABLE]
    tables = []
    with connection.cursor() as cursor:
        for name, lower, _ in sorted(_partitions(), key=lambda p: p[1] or ""):
            if lower is not None:
                cursor.execute("SELECT %s::timestamptz < %s", [lower, cutoff])
                if not cursor.fetchone()[0]:
                    continue
            tables.append(name)
    return tables


def _partitions_before(cutoff: dt.datetime) -> list[str]:
    """The partitions of a partitioned observation table whose upper bound is at or before
    the cut-off (oldest first); none on a plain table or another database."""
    if not _partitioned():
        return []
    found = []
    with connection.cursor() as cursor:
        for name, _, upper in _partitions():
            if upper is None:  # DEFAULT: its old rows are deleted a batch at a time
                continue
            cursor.execute("SELECT %s::timestamptz <= %s", [upper, cutoff])
            if cursor.fetchone()[0]:
                found.append((upper, name))
    return [name for _, name in sorted(found)]


def _partitioned() -> bool:
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", [TABLE])
        row = cursor.fetchone()
    return bool(row) and row[0] == "p"


def _partitions_ahead(months: int = PARTITIONS_AHEAD) -> list[str]:
    """On a table partitioned by month, the partitions of this month and the next ``months``
    (created when missing, so new rows never pile up in the DEFAULT partition)."""
    if not _partitioned():
        return []
    made = []
    start = clock.now().astimezone(dt.UTC).replace(day=1, hour=0, minute=0, second=0)
    start = start.replace(microsecond=0)
    for _ in range(months + 1):
        end = (start + dt.timedelta(days=32)).replace(day=1)
        name = f"{TABLE}_p{start:%Y%m}"
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SELECT to_regclass(%s) IS NULL", [name])
                if cursor.fetchone()[0]:
                    cursor.execute(
                        f"CREATE TABLE {connection.ops.quote_name(name)} PARTITION OF {TABLE} "
                        "FOR VALUES FROM (%s) TO (%s)",
                        [start, end],
                    )
                    made.append(name)
        except DatabaseError:
            # Rows of that month already sit in the DEFAULT partition: an operator moves
            # them (README); the month's rows stay readable there meanwhile.
            logger.exception("Observation partition %s could not be created", name)
        start = end
    return made


def _drop_partition(name: str) -> int:
    quoted = connection.ops.quote_name(name)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {quoted}")  # noqa: S608 - a catalogue name
        count = cursor.fetchone()[0]
        cursor.execute(f"ALTER TABLE {TABLE} DETACH PARTITION {quoted}")
        cursor.execute(f"DROP TABLE {quoted}")
    logger.info("Dropped observation partition %s (%s rows)", name, count)
    return count


def _audit(result: PurgeResult) -> None:
    outcome = "" if result.complete else " (stopped before the end; the next run goes on)"
    with transaction.atomic():
        audit_record(
            actor=None,
            action=AuditEvent.Action.DELETE,
            object_type=f"monitoring.{Observation._meta.model_name}",
            object_id="retention",
            object_repr=f"Observations before {result.cutoff:%Y-%m-%d %H:%M} UTC",
            changes={
                "deleted": result.deleted,
                "cutoff": result.cutoff.isoformat(),
                "retention_days": result.retention_days,
                "batches": result.batches,
                "dropped_partitions": result.dropped_partitions,
                "complete": result.complete,
            },
            message=(
                f"Retention: {result.deleted} observation(s) older than "
                f"{result.retention_days} days deleted{outcome}."
            ),
        )
