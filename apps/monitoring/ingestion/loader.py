"""Loading validated observations into the big table.

``load_observations`` is the one way rows reach ``monitoring_observation``; ingestion, drift
runs and the demo seed all use it. Call it inside the caller's transaction: the rows become
visible when (and only if) that transaction commits.

On PostgreSQL the frame is sent with one binary ``COPY`` into a temporary staging table
(dropped at commit) and moved with one set-based ``INSERT ... SELECT``. Rows whose
(version, metric, segment, timestamp) already exist are skipped and counted as duplicates.

Two things keep a large load fast without weakening any guarantee:

- The insert is first tried plainly (no conflict arbitration) inside a savepoint; only if a
  row already exists does it fall back to ``ON CONFLICT ... DO NOTHING``, which costs a
  speculative insertion per row. New data, the usual case, takes the fast path.
- References are checked once per distinct version, metric and batch (``SELECT ... FOR KEY
  SHARE``, exactly the lock a foreign-key trigger takes per row) instead of once per row: the
  big table has no foreign-key triggers (see ``Observation``).
- Rows go in sorted by (version, metric, timestamp), the order of the unique B-tree, so the
  index grows at the end of each series instead of at random pages.

Elsewhere (SQLite in development) rows are inserted with ``INSERT ... ON CONFLICT DO
NOTHING`` through the database adapter.
"""

from __future__ import annotations

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
SEGMENTS = "mlgov_observation_segments"
#: Microseconds between the Unix epoch and PostgreSQL's (2000-01-01).
PG_EPOCH_US = 946_684_800_000_000


@dataclass(frozen=True)
class LoadResult:
    loaded: int
    duplicate: int


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
    return LoadResult(loaded=loaded, duplicate=len(frame) - loaded)


# --- PostgreSQL -----------------------------------------------------------------------------


def _utc_microseconds(timestamps: pd.Series) -> np.ndarray:
    naive = timestamps.dt.tz_convert("UTC").dt.tz_localize(None)
    return naive.to_numpy(dtype="datetime64[us]").view("int64")


def _binary_copy(frame: pd.DataFrame, segment_codes: np.ndarray) -> bytes:
    """The rows in PostgreSQL's binary COPY format, built column-wise with numpy.

    Every field is fixed-width (segments travel as codes), so each row is one record of a
    structured big-endian array: field count, then (length, value) per field.
    """
    record = np.dtype(
        [
            ("fields", ">i2"),
            ("version_len", ">i4"),
            ("version_id", ">i8"),
            ("metric_len", ">i4"),
            ("metric_id", ">i8"),
            ("segment_len", ">i4"),
            ("segment", ">i4"),
            ("timestamp_len", ">i4"),
            ("timestamp", ">i8"),
            ("value_len", ">i4"),
            ("value", ">f8"),
        ]
    )
    rows = np.empty(len(frame), dtype=record)
    rows["fields"] = 5
    rows["version_len"] = rows["metric_len"] = rows["timestamp_len"] = rows["value_len"] = 8
    rows["segment_len"] = 4
    rows["version_id"] = frame["version_id"].to_numpy(dtype=np.int64)
    rows["metric_id"] = frame["metric_id"].to_numpy(dtype=np.int64)
    rows["segment"] = segment_codes
    rows["timestamp"] = _utc_microseconds(frame["timestamp"]) - PG_EPOCH_US
    rows["value"] = frame["value"].to_numpy(dtype=np.float64)
    header = b"PGCOPY\n\xff\r\n\x00" + b"\x00" * 8  # signature, flags, header extension
    return header + rows.tobytes() + b"\xff\xff"


def _lock_referenced(cursor, table: str, ids: np.ndarray) -> None:
    """Lock the referenced rows as a foreign-key check would, and insist they all exist."""
    wanted = [int(i) for i in np.unique(ids)]
    cursor.execute(
        f"SELECT count(*) FROM (SELECT 1 FROM {table} WHERE id = ANY(%s) FOR KEY SHARE) AS t",  # noqa: S608 (table names are ours)
        [wanted],
    )
    if cursor.fetchone()[0] != len(wanted):
        raise IntegrityError(f"Some rows refer to {table} rows that do not exist.")


def _load_postgresql(batch_id: int, frame: pd.DataFrame) -> int:
    segment_codes, segments = pd.factorize(frame["segment"].fillna("").astype(str))
    table = Observation._meta.db_table
    columns = "version_id, metric_id, segment, timestamp, value, batch_id"
    select = (
        f"SELECT s.version_id, s.metric_id, g.segment, s.timestamp, s.value, %s "  # noqa: S608
        f"FROM {STAGING} s JOIN {SEGMENTS} g ON g.code = s.segment_code "
        "ORDER BY s.version_id, s.metric_id, s.timestamp, g.segment"
    )
    with connection.cursor() as cursor:
        for name in (STAGING, SEGMENTS):
            cursor.execute(f"DROP TABLE IF EXISTS pg_temp.{name}")
        cursor.execute(
            f"CREATE TEMP TABLE {STAGING} (version_id bigint, metric_id bigint, "
            "segment_code integer, timestamp timestamptz, value double precision) "
            "ON COMMIT DROP"
        )
        cursor.execute(
            f"CREATE TEMP TABLE {SEGMENTS} (code integer PRIMARY KEY, segment text) ON COMMIT DROP"
        )
        with cursor.copy(f"COPY {SEGMENTS} (code, segment) FROM STDIN") as copy:
            for code, segment in enumerate(segments):
                copy.write_row((code, segment))
        with cursor.copy(f"COPY {STAGING} FROM STDIN WITH (FORMAT binary)") as copy:
            copy.write(_binary_copy(frame, segment_codes.astype(np.int32)))

        from apps.inventory.models import ModelVersion

        _lock_referenced(cursor, ModelVersion._meta.db_table, frame["version_id"].to_numpy())
        _lock_referenced(cursor, MetricDefinition._meta.db_table, frame["metric_id"].to_numpy())
        _lock_referenced(cursor, IngestionBatch._meta.db_table, np.asarray([batch_id]))
        try:
            # New data, the usual case: a plain insert, no per-row conflict arbitration.
            with transaction.atomic():
                cursor.execute(f"INSERT INTO {table} ({columns}) {select}", [batch_id])
        except IntegrityError:
            cursor.execute(
                f"INSERT INTO {table} ({columns}) {select} "
                "ON CONFLICT (version_id, metric_id, timestamp, segment) DO NOTHING",
                [batch_id],
            )
        loaded = cursor.rowcount
        for name in (STAGING, SEGMENTS):
            cursor.execute(f"DROP TABLE IF EXISTS pg_temp.{name}")
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
