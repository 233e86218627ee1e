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
from datetime import UTC, datetime

import numpy as np
import pandas as pd
from django.db import IntegrityError, connection, transaction

from apps.inventory.models import ModelVersion
from apps.monitoring import rollups
from apps.monitoring.ingestion import binary
from apps.monitoring.models import (
    IngestionBatch,
    IngestionBatchModel,
    MetricDefinition,
    Observation,
    ObservationRollup,
    ObservationSeries,
)

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
    if loaded == len(frame) and connection.vendor == "postgresql":
        record_loaded(batch.pk, segments, fresh=True)
    else:
        touched = Touched()
        for segment in segments:
            touched.add(segment)
        touched.rebuild()
    record_batch_models(batch.pk, {v for v, _, _ in series})
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
        self._touched = Touched()
        #: Per segment, the (version, metric, day) the previous chunk's rows ended on.
        self._ended_on: dict[str, tuple[int, int, int]] = {}
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
            record_loaded(self.batch_id, segments, fresh=True, held=self._ended_on)
            self._ended_on = {
                s.name: (
                    int(s.version_id[-1]),
                    int(s.metric_id[-1]),
                    int(s.micros[-1]) // (rollups.DAY * 1_000_000) * rollups.DAY,
                )
                for s in segments
                if len(s.version_id)
            }
        elif self.postgresql:
            self._copy_staged(segments)
        else:
            self._insert_staged(frame)
        if self.staged:
            for segment in segments:
                self._touched.add(segment)
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
        record_batch_models(self.batch_id, self._versions)
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
        self._touched.rebuild()
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


# --- what the loader keeps beside the rows: batch models, series, rollups ---------------------


def record_batch_models(batch_id: int, version_ids) -> None:
    """Record the models whose versions the batch loaded rows of (a model's batch list)."""
    ids = sorted({int(v) for v in version_ids})
    if not ids:
        return
    models = ModelVersion.objects.filter(pk__in=ids).values_list("model_id", flat=True)
    IngestionBatchModel.objects.bulk_create(
        [IngestionBatchModel(batch_id=batch_id, model_id=m) for m in set(models)],
        ignore_conflicts=True,
    )


#: PostgreSQL: Unix microseconds (bigint) to a timestamp, exactly (integer arithmetic).
_FROM_MICROS = "(TIMESTAMPTZ 'epoch' + {} * INTERVAL '1 microsecond')"


def _aware(micros: np.ndarray) -> list[datetime]:
    return [datetime.fromtimestamp(us / 1e6, UTC) for us in micros.tolist()]


def _db_times(micros: np.ndarray) -> list:
    adapt = connection.ops.adapt_datetimefield_value
    return [adapt(t) for t in _aware(micros)]


def record_series(segment: binary.Segment) -> None:
    """Merge one segment's rows (key order) into the series table: first and last time,
    the latest value. Idempotent: a row loaded again changes nothing."""
    n = len(segment.version_id)
    if not n:
        return
    change = (np.diff(segment.version_id) != 0) | (np.diff(segment.metric_id) != 0)
    starts = np.concatenate(([0], np.flatnonzero(change) + 1))
    ends = np.concatenate((starts[1:], [n])) - 1
    table = ObservationSeries._meta.db_table
    if connection.vendor == "postgresql":
        sql = (
            f"INSERT INTO {table} AS s (version_id, metric_id, segment, first_at, last_at, "  # noqa: S608
            f"last_value) SELECT v, m, %s, {_FROM_MICROS.format('f')}, "
            f"{_FROM_MICROS.format('l')}, x FROM unnest(%s::bigint[], %s::bigint[], "
            "%s::bigint[], %s::bigint[], %s::float8[]) AS u(v, m, f, l, x) "
            "ON CONFLICT (version_id, metric_id, segment) DO UPDATE SET "
            "first_at = LEAST(s.first_at, EXCLUDED.first_at), "
            "last_at = GREATEST(s.last_at, EXCLUDED.last_at), "
            "last_value = CASE WHEN EXCLUDED.last_at > s.last_at THEN EXCLUDED.last_value "
            "ELSE s.last_value END"
        )
        params = [
            segment.name,
            segment.version_id[starts].tolist(),
            segment.metric_id[starts].tolist(),
            segment.micros[starts].tolist(),
            segment.micros[ends].tolist(),
            segment.value[ends].tolist(),
        ]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
        return
    sql = (
        f"INSERT INTO {table} AS s (version_id, metric_id, segment, first_at, last_at, "  # noqa: S608
        "last_value) VALUES (%s, %s, %s, %s, %s, %s) "
        "ON CONFLICT (version_id, metric_id, segment) DO UPDATE SET "
        "first_at = MIN(s.first_at, excluded.first_at), "
        "last_at = MAX(s.last_at, excluded.last_at), "
        "last_value = CASE WHEN excluded.last_at > s.last_at THEN excluded.last_value "
        "ELSE s.last_value END"
    )
    rows = zip(
        segment.version_id[starts].tolist(),
        segment.metric_id[starts].tolist(),
        [segment.name] * len(starts),
        _db_times(segment.micros[starts]),
        _db_times(segment.micros[ends]),
        segment.value[ends].tolist(),
        strict=True,
    )
    with connection.cursor() as cursor:
        cursor.executemany(sql, list(rows))


ROLLUP_COLUMNS = (
    "version_id, metric_id, segment, width, bucket, count, total, low, high, first_at, "
    "last_at, dense"
)


def _insert_rollups(buckets: rollups.Buckets, segment: str, *, returning: bool = False):
    """Insert rollup rows (PostgreSQL: one statement; with ``returning``, rows whose key
    exists already are skipped and the keys inserted are returned)."""
    if not len(buckets):
        return []
    table = ObservationRollup._meta.db_table
    columns = [
        buckets.version_id.tolist(),
        buckets.metric_id.tolist(),
        buckets.bucket.tolist(),
        buckets.count.tolist(),
        buckets.total.tolist(),
        buckets.low.tolist(),
        buckets.high.tolist(),
    ]
    if connection.vendor == "postgresql":
        sql = (
            f"INSERT INTO {table} ({ROLLUP_COLUMNS}) SELECT v, m, %s, %s, b, n, t, lo, hi, "  # noqa: S608
            f"{_FROM_MICROS.format('f')}, {_FROM_MICROS.format('l')}, d "
            "FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::int[], "
            "%s::float8[], %s::float8[], %s::float8[], %s::bigint[], %s::bigint[], "
            "%s::bool[]) AS u(v, m, b, n, t, lo, hi, f, l, d)"
        )
        if returning:
            sql += " ON CONFLICT DO NOTHING RETURNING version_id, metric_id, bucket"
        params = [
            segment,
            buckets.width,
            *columns,
            buckets.first_us.tolist(),
            buckets.last_us.tolist(),
            buckets.dense.tolist(),
        ]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall() if returning else []
    rows = zip(
        columns[0],
        columns[1],
        [segment] * len(buckets),
        [buckets.width] * len(buckets),
        *columns[2:],
        _db_times(buckets.first_us),
        _db_times(buckets.last_us),
        buckets.dense.tolist(),
        strict=True,
    )
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {table} ({ROLLUP_COLUMNS}) VALUES "  # noqa: S608
            "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            list(rows),
        )
    return []


@dataclass(frozen=True)
class DayRange:
    """Whole days ``[first_day, last_day]`` (Unix seconds) of one series."""

    version_id: int
    metric_id: int
    segment: str
    first_day: int
    last_day: int


def _day_ranges(segment: str, version_id, metric_id, day) -> list[DayRange]:
    """The days given (one per row, in key order) as one range per series."""
    ranges: dict[tuple[int, int], list[int]] = {}
    for v, m, d in zip(version_id.tolist(), metric_id.tolist(), day.tolist(), strict=True):
        span = ranges.setdefault((v, m), [d, d])
        span[0], span[1] = min(span[0], d), max(span[1], d)
    return [DayRange(v, m, segment, lo, hi) for (v, m), (lo, hi) in ranges.items()]


def record_rollups(
    segment: binary.Segment, *, fresh: bool, held: tuple[int, int, int] | None = None
) -> None:
    """Maintain the rollups of the days one segment's rows fall on, in the load's
    transaction. ``fresh``: every row was new to the store (a straight load), so the days
    the store did not hold yet are written from the rows themselves and only days it held
    already are recomputed from the store; otherwise (a staged load, which skipped rows
    recorded before) every touched day is recomputed from the store. Either way loading
    the same rows again leaves the rollups as they were. ``held``: a (version, metric, day)
    known to be held already (where the previous chunk of the same load ended)."""
    if not len(segment.version_id):
        return
    days, hours = rollups.reduce_rows(
        segment.version_id, segment.metric_id, segment.micros, segment.value
    )
    if not fresh or connection.vendor != "postgresql":
        rebuild_rollups(_day_ranges(segment.name, days.version_id, days.metric_id, days.bucket))
        return
    if held is not None and len(days):
        v, m, d = held
        again = (days.version_id == v) & (days.metric_id == m) & (days.bucket == d)
        if again.any():
            # The day the previous chunk ended on: merged from the store, the rest copied.
            rebuild_rollups([DayRange(v, m, segment.name, d, d)])
            hour_day = np.floor_divide(hours.bucket, rollups.DAY) * rollups.DAY
            days = days.take(~again)
            hours = hours.take(
                ~((hours.version_id == v) & (hours.metric_id == m) & (hour_day == d))
            )
    if _copy_new_rollups(days, hours, segment.name):
        return
    inserted = _insert_rollups(days, segment.name, returning=True)
    new = {(v, m, b) for v, m, b in inserted}
    key = list(
        zip(days.version_id.tolist(), days.metric_id.tolist(), days.bucket.tolist(), strict=True)
    )
    is_new = np.fromiter((k in new for k in key), dtype=bool, count=len(key))
    if hours.width and len(hours):
        hour_day = np.floor_divide(hours.bucket, rollups.DAY) * rollups.DAY
        new_hours = np.fromiter(
            (
                (v, m, d) in new
                for v, m, d in zip(
                    hours.version_id.tolist(),
                    hours.metric_id.tolist(),
                    hour_day.tolist(),
                    strict=True,
                )
            ),
            dtype=bool,
            count=len(hours),
        )
        _insert_rollups(hours.take(new_hours), segment.name)
    if not is_new.all():
        held = ~is_new
        rebuild_rollups(
            _day_ranges(
                segment.name, days.version_id[held], days.metric_id[held], days.bucket[held]
            )
        )


class _IndexSteps:
    """Within a load's transaction, the series reads below go by the primary key even when
    the planner's statistics predate the load (a store just filled or emptied looks empty
    to it, and a sequential scan per series of a million new rows is what it would pick)."""

    def __init__(self, cursor):
        self.cursor = cursor

    def __enter__(self):
        self.cursor.execute("SELECT current_setting('enable_seqscan')")
        self.previous = self.cursor.fetchone()[0]
        self.cursor.execute("SET LOCAL enable_seqscan = off")
        return self.cursor

    def __exit__(self, *exc):
        if exc[0] is None:
            self.cursor.execute("SELECT set_config('enable_seqscan', %s, true)", [self.previous])


def _copy_new_rollups(days: rollups.Buckets, hours: rollups.Buckets, segment: str) -> bool:
    """The usual case, days the store does not hold yet: the rollup rows go in with one
    binary COPY in a savepoint. False (and nothing written) when some day exists already."""
    from psycopg.errors import UniqueViolation

    sql = f"COPY {ObservationRollup._meta.db_table} ({ROLLUP_COLUMNS}) FROM STDIN (FORMAT binary)"
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            for buckets in (days, hours):
                if len(buckets):
                    with cursor.cursor.copy(sql) as copy:
                        copy.write(binary.rollup_copy(buckets, segment))
    except (IntegrityError, UniqueViolation):
        return False
    return True


def rebuild_rollups(ranges: list[DayRange]) -> None:
    """Recompute the rollups of whole days of series from the store's rows."""
    if not ranges:
        return
    table = ObservationRollup._meta.db_table
    if connection.vendor == "postgresql":
        keys = [
            [r.version_id for r in ranges],
            [r.metric_id for r in ranges],
            [r.segment for r in ranges],
            [r.first_day for r in ranges],
            [r.last_day + rollups.DAY for r in ranges],
        ]
        unnest = (
            "unnest(%s::bigint[], %s::bigint[], %s::text[], %s::bigint[], %s::bigint[]) "
            "AS k(v, m, s, lo, hi)"
        )
        with connection.cursor() as raw, _IndexSteps(raw) as cursor:
            cursor.execute(
                f"DELETE FROM {table} r USING {unnest} WHERE r.version_id = k.v "  # noqa: S608
                "AND r.metric_id = k.m AND r.segment = k.s AND r.bucket >= k.lo "
                "AND r.bucket < k.hi",
                keys,
            )
            source = (
                f"SELECT o.* FROM {unnest} CROSS JOIN LATERAL (SELECT o.* FROM "  # noqa: S608
                f"{Observation._meta.db_table} o WHERE o.version_id = k.v AND o.metric_id = k.m "
                "AND o.timestamp >= to_timestamp(k.lo) AND o.timestamp < to_timestamp(k.hi) "
                "AND o.segment = k.s OFFSET 0) o"
            )
            cursor.execute(rebuild_sql(source), keys)
        return
    # Elsewhere (SQLite in development): read the rows back and reduce them as a load does.
    for r in ranges:
        lo = datetime.fromtimestamp(r.first_day, UTC)
        hi = datetime.fromtimestamp(r.last_day + rollups.DAY, UTC)
        ObservationRollup.objects.filter(
            version_id=r.version_id,
            metric_id=r.metric_id,
            segment=r.segment,
            bucket__gte=r.first_day,
            bucket__lt=r.last_day + rollups.DAY,
        ).delete()
        rows = list(
            Observation.objects.filter(
                version_id=r.version_id,
                metric_id=r.metric_id,
                segment=r.segment,
                timestamp__gte=lo,
                timestamp__lt=hi,
            )
            .order_by("timestamp")
            .values_list("timestamp", "value")
        )
        if not rows:
            continue
        micros = np.asarray([round(t.timestamp() * 1e6) for t, _ in rows], dtype=np.int64)
        value = np.asarray([v for _, v in rows], dtype=float)
        ids = np.full(len(rows), r.version_id, dtype=np.int64)
        metrics = np.full(len(rows), r.metric_id, dtype=np.int64)
        days, hours = rollups.reduce_rows(ids, metrics, micros, value)
        _insert_rollups(days, r.segment)
        _insert_rollups(hours, r.segment)
    del table


def rebuild_sql(source: str) -> str:
    """PostgreSQL: one statement writing the hourly rows of dense days and every daily row
    of the observation rows ``source`` selects (the rollups of those days must be gone)."""
    table = ObservationRollup._meta.db_table
    return (
        "WITH h AS (SELECT version_id, metric_id, segment, "  # noqa: S608
        "(floor(date_part('epoch', timestamp) / 3600) * 3600)::bigint AS bucket, "
        "count(*) AS n, sum(value) AS t, min(value) AS lo, max(value) AS hi, "
        f"min(timestamp) AS f, max(timestamp) AS l FROM ({source}) AS src "
        "GROUP BY 1, 2, 3, 4), "
        "d AS (SELECT version_id, metric_id, segment, (bucket / 86400) * 86400 AS bucket, "
        "sum(n) AS n, sum(t) AS t, min(lo) AS lo, max(hi) AS hi, min(f) AS f, max(l) AS l, "
        "max(n) > 1 AS dense FROM h GROUP BY 1, 2, 3, 4), "
        f"hours AS (INSERT INTO {table} ({ROLLUP_COLUMNS}) SELECT h.version_id, h.metric_id, "
        "h.segment, 3600, h.bucket, h.n, h.t, h.lo, h.hi, h.f, h.l, false FROM h JOIN d "
        "ON d.version_id = h.version_id AND d.metric_id = h.metric_id "
        "AND d.segment = h.segment AND d.bucket = (h.bucket / 86400) * 86400 WHERE d.dense) "
        f"INSERT INTO {table} ({ROLLUP_COLUMNS}) SELECT version_id, metric_id, segment, "
        "86400, bucket, n, t, lo, hi, f, l, dense FROM d"
    )


def record_loaded(
    batch_id: int, segments: list[binary.Segment], *, fresh: bool, held: dict | None = None
) -> None:
    """Everything kept beside the rows of a load: the series table and the rollups of the
    segments' rows. ``fresh``: every row was new to the store."""
    for segment in segments:
        record_series(segment)
        record_rollups(segment, fresh=fresh, held=held.get(segment.name) if held else None)


def refresh_series(keys: list[tuple[int, int, str]]) -> None:
    """Recompute series rows (first and last time, latest value) from the store."""
    if not keys:
        return
    table = ObservationSeries._meta.db_table
    obs = Observation._meta.db_table
    if connection.vendor == "postgresql":
        with connection.cursor() as raw, _IndexSteps(raw) as cursor:
            cursor.execute(
                f"INSERT INTO {table} (version_id, metric_id, segment, first_at, last_at, "  # noqa: S608
                "last_value) SELECT k.v, k.m, k.s, f.timestamp, l.timestamp, l.value "
                "FROM unnest(%s::bigint[], %s::bigint[], %s::text[]) AS k(v, m, s) "
                f"CROSS JOIN LATERAL (SELECT timestamp FROM {obs} WHERE version_id = k.v "
                "AND metric_id = k.m AND segment = k.s ORDER BY timestamp LIMIT 1) f "
                f"CROSS JOIN LATERAL (SELECT timestamp, value FROM {obs} WHERE version_id = k.v "
                "AND metric_id = k.m AND segment = k.s ORDER BY timestamp DESC LIMIT 1) l "
                "ON CONFLICT (version_id, metric_id, segment) DO UPDATE SET "
                "first_at = EXCLUDED.first_at, last_at = EXCLUDED.last_at, "
                "last_value = EXCLUDED.last_value",
                [[k[0] for k in keys], [k[1] for k in keys], [k[2] for k in keys]],
            )
        return
    for v, m, s in keys:
        rows = Observation.objects.filter(version_id=v, metric_id=m, segment=s)
        first = rows.order_by("timestamp").values_list("timestamp", flat=True).first()
        last = rows.order_by("-timestamp").values_list("timestamp", "value").first()
        ObservationSeries.objects.filter(version_id=v, metric_id=m, segment=s).delete()
        if first is not None:
            ObservationSeries.objects.create(
                version_id=v,
                metric_id=m,
                segment=s,
                first_at=first,
                last_at=last[0],
                last_value=last[1],
            )


class Touched:
    """Per series, the days a staged load touched: recomputed from the store at its end."""

    def __init__(self):
        self.days: dict[tuple[int, int, str], list[int]] = {}

    def add(self, segment: binary.Segment) -> None:
        day = np.floor_divide(segment.micros, rollups.DAY * 1_000_000) * rollups.DAY
        for r in _day_ranges(segment.name, segment.version_id, segment.metric_id, day):
            span = self.days.setdefault(
                (r.version_id, r.metric_id, r.segment), [r.first_day, r.last_day]
            )
            span[0], span[1] = min(span[0], r.first_day), max(span[1], r.last_day)

    def rebuild(self) -> None:
        refresh_series(sorted(self.days))
        rebuild_rollups([DayRange(v, m, s, lo, hi) for (v, m, s), (lo, hi) in self.days.items()])


def rebuild_summaries(version_ids: list[int]) -> None:
    """Rebuild the series, rollups and batch models of these versions from the store (for
    data loaded before they were kept, or by other means). Idempotent."""
    if not version_ids:
        return
    rollup = ObservationRollup._meta.db_table
    series = ObservationSeries._meta.db_table
    obs = Observation._meta.db_table
    batch_models = IngestionBatchModel._meta.db_table
    ObservationRollup.objects.filter(version_id__in=version_ids).delete()
    ObservationSeries.objects.filter(version_id__in=version_ids).delete()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            source = f"SELECT * FROM {obs} WHERE version_id = ANY(%s)"  # noqa: S608
            cursor.execute(rebuild_sql(source), [version_ids])
            cursor.execute(
                f"INSERT INTO {series} (version_id, metric_id, segment, first_at, last_at, "  # noqa: S608
                "last_value) SELECT DISTINCT ON (o.version_id, o.metric_id, o.segment) "
                "o.version_id, o.metric_id, o.segment, f.first_at, o.timestamp, o.value "
                f"FROM {obs} o JOIN (SELECT version_id, metric_id, segment, "
                f"min(first_at) AS first_at FROM {rollup} WHERE width = 86400 "
                "AND version_id = ANY(%s) GROUP BY 1, 2, 3) f ON f.version_id = o.version_id "
                "AND f.metric_id = o.metric_id AND f.segment = o.segment "
                "WHERE o.version_id = ANY(%s) "
                "ORDER BY o.version_id, o.metric_id, o.segment, o.timestamp DESC",
                [version_ids, version_ids],
            )
            cursor.execute(
                f"INSERT INTO {batch_models} (batch_id, model_id) SELECT DISTINCT o.batch_id, "  # noqa: S608
                f"v.model_id FROM {obs} o JOIN {ModelVersion._meta.db_table} v "
                "ON v.id = o.version_id WHERE o.version_id = ANY(%s) ON CONFLICT DO NOTHING",
                [version_ids],
            )
        return
    keys = list(
        Observation.objects.filter(version_id__in=version_ids)
        .values_list("version_id", "metric_id", "segment")
        .distinct()
        .order_by()
    )
    refresh_series(keys)
    ranges = []
    for s in ObservationSeries.objects.filter(version_id__in=version_ids):
        lo = int(s.first_at.timestamp()) // rollups.DAY * rollups.DAY
        hi = int(s.last_at.timestamp()) // rollups.DAY * rollups.DAY
        ranges.append(DayRange(s.version_id, s.metric_id, s.segment, lo, hi))
    rebuild_rollups(ranges)
    pairs = (
        Observation.objects.filter(version_id__in=version_ids)
        .values_list("batch_id", "version__model_id")
        .distinct()
        .order_by()
    )
    IngestionBatchModel.objects.bulk_create(
        [IngestionBatchModel(batch_id=b, model_id=m) for b, m in pairs], ignore_conflicts=True
    )


def forget_before(cutoff: datetime) -> None:
    """After retention deleted the observations before ``cutoff``: drop the rollups of the
    days before it, rebuild those of the day it falls in, and refresh (or drop) the series
    that began before it."""
    day = int(cutoff.timestamp()) // rollups.DAY * rollups.DAY
    ObservationRollup.objects.filter(bucket__lt=day).delete()
    stale = ObservationSeries.objects.filter(first_at__lt=cutoff)
    keys = list(stale.values_list("version_id", "metric_id", "segment"))
    refresh_series(keys)
    stale.delete()  # what is still before the cut-off holds no observation any more
    rebuild_rollups([DayRange(v, m, s, day, day) for v, m, s in keys])
