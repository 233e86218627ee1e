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
  B-tree grows at the end of each series instead of at random pages; the binary rows are
  built column-wise with numpy, one fixed-width record layout per segment.
- The primary key is the only B-tree: there is no surrogate id (no sequence, no second
  B-tree per row). The other indexes are BRIN (time, batch), which cost little per row.

Elsewhere (SQLite in development) rows are inserted with ``INSERT ... ON CONFLICT DO
NOTHING`` through the database adapter.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
from django.db import IntegrityError, connection, transaction

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
#: Microseconds between the Unix epoch and PostgreSQL's (2000-01-01).
PG_EPOCH_US = 946_684_800_000_000


@dataclass(frozen=True)
class LoadResult:
    loaded: int
    duplicate: int
    #: The distinct (version id, metric id, segment) series of the frame: what the
    #: evaluation looks at, known here without reading the rows back.
    series: tuple[tuple[int, int, str], ...] = ()


def distinct_series(frame: pd.DataFrame) -> tuple[tuple[int, int, str], ...]:
    keys = pd.DataFrame(
        {
            "version_id": frame["version_id"].astype("int64"),
            "metric_id": frame["metric_id"].astype("int64"),
            "segment": frame["segment"].fillna("").astype(str),
        }
    ).drop_duplicates()
    return tuple(
        zip(
            keys["version_id"].tolist(),
            keys["metric_id"].tolist(),
            keys["segment"].tolist(),
            strict=True,
        )
    )


def load_observations(*, batch: IngestionBatch, frame: pd.DataFrame) -> LoadResult:
    """Insert the frame's rows as observations of ``batch``; rows whose (version, metric,
    segment, timestamp) already exist are skipped and counted as duplicates."""
    if frame.empty:
        return LoadResult(loaded=0, duplicate=0)
    if not connection.in_atomic_block:
        raise RuntimeError("load_observations must run inside the caller's transaction")
    if connection.vendor == "postgresql":
        loaded = _load_postgresql(batch.pk, frame)
    else:
        loaded = _load_portable(batch.pk, frame)
    return LoadResult(loaded=loaded, duplicate=len(frame) - loaded, series=distinct_series(frame))


# --- PostgreSQL -----------------------------------------------------------------------------


def _utc_microseconds(timestamps: pd.Series) -> np.ndarray:
    naive = timestamps.dt.tz_convert("UTC").dt.tz_localize(None)
    return naive.to_numpy(dtype="datetime64[us]").view("int64")


def _binary_records(frame: pd.DataFrame, segment: str, batch_id: int) -> bytes:
    """Rows of one segment in PostgreSQL's binary COPY format, built column-wise with numpy.

    Within one segment every field has a fixed width, so each row is one record of a
    structured big-endian array: field count, then (length, value) per field.
    """
    encoded = segment.encode()
    fields = [
        ("fields", ">i2"),
        ("version_len", ">i4"),
        ("version_id", ">i8"),
        ("metric_len", ">i4"),
        ("metric_id", ">i8"),
        ("segment_len", ">i4"),
    ]
    if encoded:
        fields.append(("segment", f"S{len(encoded)}"))
    fields += [
        ("timestamp_len", ">i4"),
        ("timestamp", ">i8"),
        ("value_len", ">i4"),
        ("value", ">f8"),
        ("batch_len", ">i4"),
        ("batch_id", ">i8"),
    ]
    rows = np.empty(len(frame), dtype=np.dtype(fields))
    rows["fields"] = 6
    for name in ("version_len", "metric_len", "timestamp_len", "value_len", "batch_len"):
        rows[name] = 8
    rows["segment_len"] = len(encoded)
    if encoded:
        rows["segment"] = encoded
    rows["version_id"] = frame["version_id"].to_numpy(dtype=np.int64)
    rows["metric_id"] = frame["metric_id"].to_numpy(dtype=np.int64)
    rows["timestamp"] = _utc_microseconds(frame["timestamp"]) - PG_EPOCH_US
    rows["value"] = frame["value"].to_numpy(dtype=np.float64)
    rows["batch_id"] = batch_id
    return rows.tobytes()


#: Rows per binary COPY chunk: the next chunk is built while the server takes this one.
COPY_CHUNK_ROWS = 65_536
COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00" * 8  # signature, flags, header extension
COPY_TRAILER = b"\xff\xff"


def _binary_chunks(frame: pd.DataFrame, batch_id: int) -> Iterator[bytes]:
    """The whole frame as a binary COPY stream of observation rows, in chunks, segment by
    segment, each segment's rows in the order of the primary key (version, metric, time)."""
    yield COPY_HEADER
    segments = frame["segment"].fillna("").astype(str)
    for segment, rows in frame.groupby(segments, sort=True):
        order = np.lexsort(
            (
                _utc_microseconds(rows["timestamp"]),
                rows["metric_id"].to_numpy(dtype=np.int64),
                rows["version_id"].to_numpy(dtype=np.int64),
            )
        )
        for start in range(0, len(order), COPY_CHUNK_ROWS):
            chunk = rows.iloc[order[start : start + COPY_CHUNK_ROWS]]
            yield _binary_records(chunk, str(segment), batch_id)
    yield COPY_TRAILER


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


def _load_postgresql(batch_id: int, frame: pd.DataFrame) -> int:
    from psycopg.errors import UniqueViolation

    from apps.inventory.models import ModelVersion

    table = Observation._meta.db_table
    columns = "version_id, metric_id, segment, timestamp, value, batch_id"
    with connection.cursor() as cursor:
        _lock_referenced(cursor, ModelVersion._meta.db_table, frame["version_id"].to_numpy())
        _lock_referenced(cursor, MetricDefinition._meta.db_table, frame["metric_id"].to_numpy())
        _lock_referenced(cursor, IngestionBatch._meta.db_table, np.asarray([batch_id]))
        try:
            # New data, the usual case: straight into the table, no per-row arbitration.
            copy_sql = f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT binary)"
            with transaction.atomic(), _copy(cursor, copy_sql) as copy:
                for chunk in _binary_chunks(frame, batch_id):
                    copy.write(chunk)
            return len(frame)
        except (IntegrityError, UniqueViolation):
            pass  # COPY bypasses Django's error wrapping: psycopg's own error arrives here.
        # Some rows already exist: stage, then insert what is new.
        cursor.execute(f"DROP TABLE IF EXISTS pg_temp.{STAGING}")
        cursor.execute(
            f"CREATE TEMP TABLE {STAGING} (version_id bigint, metric_id bigint, segment text, "
            "timestamp timestamptz, value double precision, batch_id bigint) ON COMMIT DROP"
        )
        with _copy(cursor, f"COPY {STAGING} ({columns}) FROM STDIN WITH (FORMAT binary)") as copy:
            for chunk in _binary_chunks(frame, batch_id):
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
    from apps.inventory.models import ModelVersion

    _check_referenced(ModelVersion, frame["version_id"].to_numpy())
    _check_referenced(MetricDefinition, frame["metric_id"].to_numpy())
    _check_referenced(IngestionBatch, np.asarray([batch_id]))
    table = Observation._meta.db_table
    adapt = connection.ops.adapt_datetimefield_value
    rows = zip(
        frame["version_id"].astype("int64").tolist(),
        frame["metric_id"].astype("int64").tolist(),
        frame["segment"].fillna("").astype(str).tolist(),
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
