"""Loading validated observations into the big table.

``load_observations`` is the one way rows reach ``monitoring_observation``; ingestion, drift
runs and the demo seed all use it. Call it inside the caller's transaction: the rows become
visible when (and only if) that transaction commits.

On PostgreSQL the frame is sent with one binary ``COPY`` straight into the table; rows whose
(version, metric, segment, timestamp) already exist are skipped and counted as duplicates.

What keeps a large load fast without weakening any guarantee:

- New data, the usual case, is copied straight into the table inside a savepoint: no staging
  copy and no per-row conflict arbitration. Only if some row already exists (the primary key
  refuses the copy) is the frame copied into a temporary staging table (dropped at commit)
  and moved with one set-based ``INSERT ... SELECT ... ON CONFLICT DO NOTHING``.
- References are checked once per distinct version, metric and batch (``SELECT ... FOR KEY
  SHARE``, exactly the lock a foreign-key trigger takes per row) instead of once per row: the
  big table has no foreign-key triggers (see ``Observation``).
- Rows go in sorted by (version, metric, timestamp), the order of the primary key, so the
  B-tree grows at the end of each series instead of at random pages; a file written series
  by series (the usual case) is checked, not sorted again. The binary rows are built
  column-wise with numpy, one fixed-width record layout per segment, and the batch's
  distinct series are read off the sorted columns.
- The primary key is the only B-tree: there is no surrogate id (no sequence, no second
  B-tree per row). The other indexes are BRIN (time, batch), which cost little per row.

Elsewhere (SQLite in development) rows are inserted with ``INSERT ... ON CONFLICT DO
NOTHING`` through the database adapter.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from django.db import IntegrityError, connection, transaction

from apps.inventory.models import ModelVersion
from apps.monitoring.ingestion import binary
from apps.monitoring.models import IngestionBatch, MetricDefinition, Observation

#: Columns (and dtypes) of the frame ``load_observations`` takes.
FRAME_COLUMNS = {
    "version_id": "int64",
    "metric_id": "int64",
    "segment": "object",
    "timestamp": "datetime64[ns, UTC]",
    "value": "float64",
}

STAGING = "mlgov_observation_staging"


@dataclass(frozen=True)
class LoadResult:
    loaded: int
    duplicate: int
    #: The distinct (version id, metric id, segment) series of the frame: what the
    #: evaluation looks at, known here without reading the rows back.
    series: tuple[tuple[int, int, str], ...] = ()


def load_observations(*, batch: IngestionBatch, frame: pd.DataFrame) -> LoadResult:
    """Insert the frame's rows as observations of ``batch``; rows whose (version, metric,
    segment, timestamp) already exist are skipped and counted as duplicates."""
    if frame.empty:
        return LoadResult(loaded=0, duplicate=0)
    if not connection.in_atomic_block:
        raise RuntimeError("load_observations must run inside the caller's transaction")
    segments = binary.key_ordered(frame)
    if connection.vendor == "postgresql":
        loaded = _load_postgresql(batch.pk, segments)
    else:
        loaded = _load_portable(batch.pk, frame)
    series = tuple(s for segment in segments for s in segment.series())
    return LoadResult(loaded=loaded, duplicate=len(frame) - loaded, series=series)


# --- PostgreSQL -----------------------------------------------------------------------------


def _lock_referenced(cursor, table: str, ids: np.ndarray) -> None:
    """Lock the referenced rows as a foreign-key check would, and insist they all exist."""
    wanted = [int(i) for i in np.unique(ids)]
    cursor.execute(
        f"SELECT count(*) FROM (SELECT 1 FROM {table} WHERE id = ANY(%s) FOR KEY SHARE) AS t",  # noqa: S608 (table names are ours)
        [wanted],
    )
    if cursor.fetchone()[0] != len(wanted):
        raise IntegrityError(f"Some rows refer to {table} rows that do not exist.")


def _copy(cursor, sql: str):
    """A COPY whose writes go to the server from a thread, so the next chunk is built while
    the server takes the previous one."""
    from psycopg.copy import QueuedLibpqWriter

    raw = cursor.cursor  # psycopg's cursor under Django's wrapper
    return raw.copy(sql, writer=QueuedLibpqWriter(raw))


def _load_postgresql(batch_id: int, segments: list[binary.Segment]) -> int:
    from psycopg.errors import UniqueViolation

    table = Observation._meta.db_table
    columns = "version_id, metric_id, segment, timestamp, value, batch_id"
    with connection.cursor() as cursor:
        _lock_referenced(
            cursor, ModelVersion._meta.db_table, np.concatenate([s.version_id for s in segments])
        )
        _lock_referenced(
            cursor, MetricDefinition._meta.db_table, np.concatenate([s.metric_id for s in segments])
        )
        _lock_referenced(cursor, IngestionBatch._meta.db_table, np.asarray([batch_id]))
        try:
            # New data, the usual case: straight into the table, no per-row arbitration.
            copy_sql = f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT binary)"
            with transaction.atomic(), _copy(cursor, copy_sql) as copy:
                for chunk in binary.copy_chunks(segments, batch_id):
                    copy.write(chunk)
            return sum(len(s.version_id) for s in segments)
        except (IntegrityError, UniqueViolation):
            pass  # COPY bypasses Django's error wrapping: psycopg's own error arrives here.
        # Some rows already exist: stage, then insert what is new.
        cursor.execute(f"DROP TABLE IF EXISTS pg_temp.{STAGING}")
        cursor.execute(
            f"CREATE TEMP TABLE {STAGING} (version_id bigint, metric_id bigint, segment text, "
            "timestamp timestamptz, value double precision, batch_id bigint) ON COMMIT DROP"
        )
        with _copy(cursor, f"COPY {STAGING} ({columns}) FROM STDIN WITH (FORMAT binary)") as copy:
            for chunk in binary.copy_chunks(segments, batch_id):
                copy.write(chunk)
        cursor.execute(
            f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {STAGING} "  # noqa: S608
            "ORDER BY version_id, metric_id, timestamp, segment "
            "ON CONFLICT (version_id, metric_id, timestamp, segment) DO NOTHING"
        )
        loaded = cursor.rowcount
        cursor.execute(f"DROP TABLE IF EXISTS pg_temp.{STAGING}")
    return loaded


# --- portable ---------------------------------------------------------------------------------


def _check_referenced(model, ids: np.ndarray) -> None:
    """Insist every referenced row exists (the big table has no foreign-key triggers)."""
    wanted = {int(i) for i in np.unique(ids)}
    if model.objects.filter(pk__in=wanted).count() != len(wanted):
        raise IntegrityError(f"Some rows refer to {model._meta.db_table} rows that do not exist.")


def _load_portable(batch_id: int, frame: pd.DataFrame) -> int:
    _check_referenced(ModelVersion, frame["version_id"].to_numpy())
    _check_referenced(MetricDefinition, frame["metric_id"].to_numpy())
    _check_referenced(IngestionBatch, np.asarray([batch_id]))
    table = Observation._meta.db_table
    adapt = connection.ops.adapt_datetimefield_value
    rows = zip(
        frame["version_id"].astype("int64").tolist(),
        frame["metric_id"].astype("int64").tolist(),
        binary.segment_names(frame).tolist(),
        (adapt(ts) for ts in frame["timestamp"].dt.tz_convert("UTC").dt.to_pydatetime()),
        frame["value"].astype("float64").tolist(),
        strict=True,
    )
    before = Observation.objects.filter(batch_id=batch_id).count()
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {table} (version_id, metric_id, segment, timestamp, value, batch_id) "  # noqa: S608
            "VALUES (%s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (version_id, metric_id, timestamp, segment) DO NOTHING",
            [(*row, batch_id) for row in rows],
        )
    return Observation.objects.filter(batch_id=batch_id).count() - before


# --- a file, chunk by chunk -------------------------------------------------------------------


class Conflict(Exception):
    """A row sent straight into the table already exists (recorded before, or repeated
    further down the file): the caller rolls back and loads the file again, staged."""


@dataclass(frozen=True)
class Repeat:
    """A row repeating the (version, metric, segment, timestamp) of an earlier row of the
    same file, found across chunks (within one chunk validation finds them)."""

    row: int
    first_row: int
    timestamp: str


class StreamLoad:
    """Loads a file's valid rows chunk by chunk, inside the caller's transaction, so that a
    file of any size is loaded with the memory of one chunk and all or nothing.

    Two ways, both in the caller's transaction (rows become visible with its commit):

    - straight (PostgreSQL, the usual case: new data): each chunk is one binary ``COPY``
      straight into the table. A row that already exists (recorded by an earlier batch,
      or repeating a row of an earlier chunk of the same file) makes the copy fail: ``add``
      raises ``Conflict``, the caller rolls its savepoint back and loads again, staged.
    - staged (SQLite always; PostgreSQL after a conflict): chunks go to a temporary staging
      table with their row numbers; ``repeats`` then finds rows repeating an earlier row of
      the file across chunks (with the row they repeat), and ``insert`` moves the first of
      each key with one ``INSERT ... SELECT ... ON CONFLICT DO NOTHING`` (rows recorded by an
      earlier batch are skipped and counted as duplicates).
    """

    def __init__(self, *, batch_id: int, staged: bool = False):
        if not connection.in_atomic_block:
            raise RuntimeError("StreamLoad must run inside the caller's transaction")
        self.batch_id = batch_id
        self.postgresql = connection.vendor == "postgresql"
        self.staged = staged or not self.postgresql
        self.rows = 0
        self.series: set[tuple[int, int, str]] = set()
        self._versions: set[int] = set()
        self._metrics: set[int] = set()
        self._lock(IngestionBatch, [batch_id])
        if self.staged:
            self._create_staging()

    # references

    def _lock(self, model, ids) -> None:
        with connection.cursor() as cursor:
            if self.postgresql:
                _lock_referenced(cursor, model._meta.db_table, np.asarray(ids, dtype=np.int64))
            else:
                _check_referenced(model, np.asarray(ids, dtype=np.int64))

    def _lock_new(self, seen: set[int], model, ids: np.ndarray) -> None:
        new = {int(i) for i in np.unique(ids)} - seen
        if new:
            self._lock(model, sorted(new))
            seen |= new

    # loading

    def add(self, frame: pd.DataFrame, rows: Callable[[], np.ndarray]) -> None:
        """Load the valid rows of one chunk (a loader frame, see ``FRAME_COLUMNS``); ``rows``
        gives their file row numbers (asked for by a staged load only)."""
        if frame.empty:
            return
        self._lock_new(self._versions, ModelVersion, frame["version_id"].to_numpy())
        self._lock_new(self._metrics, MetricDefinition, frame["metric_id"].to_numpy())
        if self.staged:
            frame = frame.assign(row=np.asarray(rows(), dtype=np.int64))
        segments = binary.key_ordered(frame)
        if not self.staged:
            self._copy_straight(segments)
        elif self.postgresql:
            self._copy_staged(segments)
        else:
            self._insert_staged(frame)
        self.rows += len(frame)
        self.series.update(s for segment in segments for s in segment.series())

    def _copy_straight(self, segments: list[binary.Segment]) -> None:
        from psycopg.errors import UniqueViolation

        table = Observation._meta.db_table
        columns = "version_id, metric_id, segment, timestamp, value, batch_id"
        try:
            with connection.cursor() as cursor:
                sql = f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT binary)"
                with _copy(cursor, sql) as copy:
                    for chunk in binary.copy_chunks(segments, self.batch_id):
                        copy.write(chunk)
        except (IntegrityError, UniqueViolation) as exc:
            raise Conflict(str(exc)) from exc

    def _create_staging(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {_staging_name()}")
            on_commit = " ON COMMIT DROP" if self.postgresql else ""
            cursor.execute(
                f"CREATE TEMP TABLE {STAGING} (file_row bigint, version_id bigint, "
                f"metric_id bigint, segment text, timestamp {_timestamp_type()}, "
                f"value double precision, batch_id bigint){on_commit}"
            )

    def _copy_staged(self, segments: list[binary.Segment]) -> None:
        columns = "file_row, version_id, metric_id, segment, timestamp, value, batch_id"
        with connection.cursor() as cursor:
            sql = f"COPY {STAGING} ({columns}) FROM STDIN WITH (FORMAT binary)"
            with _copy(cursor, sql) as copy:
                for chunk in binary.copy_chunks(segments, self.batch_id, with_rows=True):
                    copy.write(chunk)

    def _insert_staged(self, frame: pd.DataFrame) -> None:
        adapt = connection.ops.adapt_datetimefield_value
        rows = zip(
            frame["row"].tolist(),
            frame["version_id"].astype("int64").tolist(),
            frame["metric_id"].astype("int64").tolist(),
            binary.segment_names(frame).tolist(),
            (adapt(ts) for ts in frame["timestamp"].dt.tz_convert("UTC").dt.to_pydatetime()),
            frame["value"].astype("float64").tolist(),
            strict=True,
        )
        with connection.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO {STAGING} "  # noqa: S608
                "(file_row, version_id, metric_id, segment, timestamp, value, batch_id) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s)",
                [(*row, self.batch_id) for row in rows],
            )

    # the end of a staged load

    def repeats(self, limit: int) -> tuple[list[Repeat], int]:
        """The first ``limit`` rows repeating an earlier row of the file, and how many
        there are (staged loads only; a straight load has none, or it would have failed)."""
        if not self.staged:
            return [], 0
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT file_row, first_row, timestamp, count(*) OVER () FROM ("  # noqa: S608
                f"SELECT file_row, timestamp, min(file_row) OVER (PARTITION BY {KEY}) AS first_row "
                f"FROM {STAGING}) AS s WHERE file_row <> first_row ORDER BY file_row LIMIT %s",
                [limit],
            )
            found = cursor.fetchall()
        repeats = [Repeat(int(r), int(f), _shown_time(t)) for r, f, t, _ in found]
        return repeats, int(found[0][3]) if found else 0

    def insert(self) -> int:
        """Staged loads: move the first row of each key into the table; the number moved
        (rows recorded by an earlier batch are not). Straight loads: the rows copied."""
        if not self.staged:
            return self.rows
        table = Observation._meta.db_table
        columns = "version_id, metric_id, segment, timestamp, value, batch_id"
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} ({columns}) SELECT {columns} FROM ("  # noqa: S608
                f"SELECT *, min(file_row) OVER (PARTITION BY {KEY}) AS first_row FROM {STAGING}"
                ") AS s WHERE file_row = first_row "
                "ORDER BY version_id, metric_id, timestamp, segment "
                "ON CONFLICT (version_id, metric_id, timestamp, segment) DO NOTHING"
            )
            loaded = cursor.rowcount
            cursor.execute(f"DROP TABLE IF EXISTS {_staging_name()}")
        return loaded


KEY = "version_id, metric_id, segment, timestamp"


def _staging_name() -> str:
    return f"pg_temp.{STAGING}" if connection.vendor == "postgresql" else f"temp.{STAGING}"


def _timestamp_type() -> str:
    return "timestamptz" if connection.vendor == "postgresql" else "text"


def _shown_time(value) -> str:
    if isinstance(value, str):
        value = pd.Timestamp(value)
    stamp = pd.Timestamp(value)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.isoformat().replace("+00:00", "Z")
