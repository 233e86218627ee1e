"""Observation rows in the order of the store's primary key, and PostgreSQL's binary COPY
format for them. Pure computations (numpy and pandas, no database): the loader sends what
``copy_chunks`` yields.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

#: Microseconds between the Unix epoch and PostgreSQL's (2000-01-01).
PG_EPOCH_US = 946_684_800_000_000


@dataclass(frozen=True)
class Segment:
    """The rows of one segment as columns, in the order of the primary key (version,
    metric, time); times as UTC microseconds since the Unix epoch."""

    name: str
    version_id: np.ndarray
    metric_id: np.ndarray
    micros: np.ndarray
    value: np.ndarray
    #: The file's row numbers of the rows, when they travel with them (to a staging table).
    rows: np.ndarray | None = None

    def series(self) -> list[tuple[int, int, str]]:
        """The distinct (version id, metric id, segment) series: where the key order moves
        on to another version or metric."""
        if not len(self.version_id):
            return []
        starts = np.flatnonzero((np.diff(self.version_id) != 0) | (np.diff(self.metric_id) != 0))
        first = np.concatenate(([0], starts + 1))
        return [
            (v, m, self.name)
            for v, m in zip(
                self.version_id[first].tolist(), self.metric_id[first].tolist(), strict=True
            )
        ]


def segment_names(frame: pd.DataFrame) -> pd.Series:
    """The segment column as strings ("" for none), converted only if it needs to be."""
    segments = frame["segment"]
    if segments.hasnans:
        segments = segments.fillna("")
    if pd.api.types.infer_dtype(segments, skipna=False) != "string":
        segments = segments.astype(str)
    return segments


def in_key_order(version_id: np.ndarray, metric_id: np.ndarray, micros: np.ndarray) -> bool:
    dv, dm, dt = np.diff(version_id), np.diff(metric_id), np.diff(micros)
    return bool(np.all((dv > 0) | ((dv == 0) & ((dm > 0) | ((dm == 0) & (dt >= 0))))))


def key_ordered(frame: pd.DataFrame) -> list[Segment]:
    """The frame's rows segment by segment, each segment sorted by (version, metric, time)
    unless it already is (a file written series by series, the usual case). A ``row``
    column (the file's row numbers) travels with the rows."""
    names = segment_names(frame)
    first = names.iat[0] if len(names) else ""
    one = (names == first).all()  # one segment, the usual case: no grouping
    groups = [(first, frame)] if one else frame.groupby(names, sort=True)
    out = []
    for name, rows in groups:
        version_id = rows["version_id"].to_numpy(dtype=np.int64)
        metric_id = rows["metric_id"].to_numpy(dtype=np.int64)
        micros = utc_microseconds(rows["timestamp"])
        value = rows["value"].to_numpy(dtype=np.float64)
        numbers = rows["row"].to_numpy(dtype=np.int64) if "row" in rows else None
        if not in_key_order(version_id, metric_id, micros):
            order = np.lexsort((micros, metric_id, version_id))
            version_id, metric_id = version_id[order], metric_id[order]
            micros, value = micros[order], value[order]
            numbers = numbers[order] if numbers is not None else None
        out.append(Segment(str(name), version_id, metric_id, micros, value, numbers))
    return out


def utc_microseconds(timestamps: pd.Series) -> np.ndarray:
    naive = timestamps.dt.tz_convert("UTC").dt.tz_localize(None)
    return naive.to_numpy(dtype="datetime64[us]").view("int64")


def copy_records(
    segment: Segment, start: int, stop: int, batch_id: int, *, with_rows: bool = False
) -> bytes:
    """Rows ``start:stop`` of one segment in PostgreSQL's binary COPY format, built
    column-wise with numpy; ``with_rows`` puts the file's row number first (staging).

    Within one segment every field has a fixed width, so each row is one record of a
    structured big-endian array: field count, then (length, value) per field.
    """
    encoded = segment.name.encode()
    fields = [("fields", ">i2")]
    if with_rows:
        fields += [("row_len", ">i4"), ("row", ">i8")]
    fields += [
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
    rows = np.empty(stop - start, dtype=np.dtype(fields))
    rows["fields"] = 7 if with_rows else 6
    for name in ("version_len", "metric_len", "timestamp_len", "value_len", "batch_len"):
        rows[name] = 8
    if with_rows:
        rows["row_len"] = 8
        rows["row"] = segment.rows[start:stop]
    rows["segment_len"] = len(encoded)
    if encoded:
        rows["segment"] = encoded
    rows["version_id"] = segment.version_id[start:stop]
    rows["metric_id"] = segment.metric_id[start:stop]
    rows["timestamp"] = segment.micros[start:stop] - PG_EPOCH_US
    rows["value"] = segment.value[start:stop]
    rows["batch_id"] = batch_id
    return rows.tobytes()


#: Rows per binary COPY chunk: the next chunk is built while the server takes this one.
COPY_CHUNK_ROWS = 65_536
COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00" * 8  # signature, flags, header extension
COPY_TRAILER = b"\xff\xff"


def copy_chunks(
    segments: list[Segment], batch_id: int, *, with_rows: bool = False
) -> Iterator[bytes]:
    """The rows as a binary COPY stream of observation rows, in chunks, segment by segment,
    each in the order of the primary key (version, metric, time); ``with_rows`` puts each
    row's file row number first (for the staging table)."""
    yield COPY_HEADER
    for segment in segments:
        total = len(segment.version_id)
        for start in range(0, total, COPY_CHUNK_ROWS):
            stop = min(start + COPY_CHUNK_ROWS, total)
            yield copy_records(segment, start, stop, batch_id, with_rows=with_rows)
    yield COPY_TRAILER


def rollup_copy(buckets, segment: str) -> bytes:
    """Rollup rows (``apps.monitoring.rollups.Buckets``) of one segment as a whole binary
    COPY stream, in the column order of ``loader.ROLLUP_COLUMNS``: version, metric,
    segment, width, bucket, count, total, low, high, first and last time, dense."""
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
        ("width_len", ">i4"),
        ("width", ">i4"),
        ("bucket_len", ">i4"),
        ("bucket", ">i8"),
        ("count_len", ">i4"),
        ("count", ">i4"),
        ("total_len", ">i4"),
        ("total", ">f8"),
        ("low_len", ">i4"),
        ("low", ">f8"),
        ("high_len", ">i4"),
        ("high", ">f8"),
        ("first_len", ">i4"),
        ("first", ">i8"),
        ("last_len", ">i4"),
        ("last", ">i8"),
        ("dense_len", ">i4"),
        ("dense", "u1"),
    ]
    rows = np.empty(len(buckets.bucket), dtype=np.dtype(fields))
    rows["fields"] = 12
    for name in ("version_len", "metric_len", "bucket_len", "total_len", "low_len"):
        rows[name] = 8
    for name in ("high_len", "first_len", "last_len"):
        rows[name] = 8
    rows["width_len"] = rows["count_len"] = 4
    rows["dense_len"] = 1
    rows["segment_len"] = len(encoded)
    if encoded:
        rows["segment"] = encoded
    rows["version_id"] = buckets.version_id
    rows["metric_id"] = buckets.metric_id
    rows["width"] = buckets.width
    rows["bucket"] = buckets.bucket
    rows["count"] = buckets.count
    rows["total"] = buckets.total
    rows["low"] = buckets.low
    rows["high"] = buckets.high
    rows["first"] = buckets.first_us - PG_EPOCH_US
    rows["last"] = buckets.last_us - PG_EPOCH_US
    rows["dense"] = buckets.dense.astype(np.uint8)
    return COPY_HEADER + rows.tobytes() + COPY_TRAILER
