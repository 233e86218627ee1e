"""The set-based SQL of threshold evaluation. Portable: PostgreSQL and SQLite.

Two statements per batch, whatever its size (more only past thousands of thresholds):

1. ``affected_pairs``: the (threshold, version) pairs the batch touches — every distinct
   (version, metric, segment) series among the batch's observations, joined to the ACTIVE
   thresholds covering it (same model, metric and exact segment; a threshold without a
   version covers every version) — with the newest timestamp of each series.
2. ``aggregate_windows``: per pair, over its window ``[start, end]``, the sample count, mean,
   minimum, maximum and the value at ``end`` (the newest observation).

The window bounds are computed in Python between the two (date arithmetic differs between
the databases) and sent back as a VALUES list, chunked so the number of parameters stays
under both databases' limits. The database does the work over the rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from django.db import connection
from django.utils.dateparse import parse_datetime

from apps.inventory.models import ModelVersion
from apps.monitoring.choices import ThresholdStatus
from apps.monitoring.models import Observation, Threshold

#: Pairs per aggregate statement (6 parameters each: under SQLite's 32,766 and
#: PostgreSQL's 65,535 parameters).
CHUNK = 2000


@dataclass(frozen=True)
class Pair:
    threshold_id: int
    version_id: int
    metric_id: int
    segment: str
    newest: dt.datetime


@dataclass(frozen=True)
class Window:
    """What to aggregate for one pair: the series and the inclusive time bounds."""

    threshold_id: int
    version_id: int
    metric_id: int
    segment: str
    start: dt.datetime
    end: dt.datetime


@dataclass(frozen=True)
class Aggregate:
    threshold_id: int
    version_id: int
    count: int
    mean: float | None
    minimum: float | None
    maximum: float | None
    latest: float | None


def _tables() -> dict[str, str]:
    q = connection.ops.quote_name
    return {
        "obs": q(Observation._meta.db_table),
        "version": q(ModelVersion._meta.db_table),
        "threshold": q(Threshold._meta.db_table),
    }


def as_utc(value) -> dt.datetime:
    """A timestamp as the database returned it (SQLite: text for an expression) in UTC."""
    if isinstance(value, str):
        value = parse_datetime(value)
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


BATCH_SERIES = "SELECT DISTINCT version_id, metric_id, segment FROM {obs} WHERE batch_id = %s"

# Each series meets its version first (one lookup per series), then the thresholds of the
# version's model, whatever the planner believes of tables it has no statistics for yet
# (on PostgreSQL the CTE is a fence). The newest timestamp of a series is the first entry
# of a backward scan of the primary key (ORDER BY ... LIMIT 1): MAX() over a table just
# loaded in this transaction may be planned as an aggregate of all the series' rows.
PAIRS_SQL = """
WITH series (version_id, metric_id, segment) AS ({series}),
keyed AS {materialized} (
    SELECT s.version_id, s.metric_id, s.segment, v.model_id
      FROM series s JOIN {version} v ON v.id = s.version_id
)
SELECT t.id, k.version_id, k.metric_id, k.segment,
       (SELECT o.timestamp FROM {obs} o
         WHERE o.version_id = k.version_id AND o.metric_id = k.metric_id
           AND o.segment = k.segment
         ORDER BY o.timestamp DESC LIMIT 1) AS newest
  FROM keyed k
  JOIN {threshold} t ON t.model_id = k.model_id AND t.metric_id = k.metric_id
                    AND t.segment = k.segment
 WHERE t.status = %s AND (t.version_id IS NULL OR t.version_id = k.version_id)
 ORDER BY t.id, k.version_id
"""


def _materialized() -> str:
    return "MATERIALIZED" if connection.vendor == "postgresql" else ""


def affected_pairs(
    batch_id: int, series: Sequence[tuple[int, int, str]] | None = None
) -> list[Pair]:
    """The (threshold, version) pairs of the active thresholds covering the batch's series.

    The series are read from the batch's rows, unless the caller already knows them
    (``series``: distinct (version id, metric id, segment) triples), which saves a scan.
    """
    tables = _tables()
    if series is None:
        chunks = [(BATCH_SERIES.format(**tables), [batch_id])]
    else:
        chunks = []
        placeholder = _typed("(%s, %s, %s)", ("bigint", "bigint", "varchar"))
        for chunk in _chunks(list(series), CHUNK * 2):
            values = "VALUES " + ", ".join([placeholder] * len(chunk))
            chunks.append((values, [x for triple in chunk for x in triple]))
    pairs: list[Pair] = []
    for series_sql, params in chunks:
        with connection.cursor() as cursor:
            cursor.execute(
                PAIRS_SQL.format(series=series_sql, materialized=_materialized(), **tables),
                [*params, ThresholdStatus.ACTIVE],
            )
            pairs += [Pair(r[0], r[1], r[2], r[3], as_utc(r[4])) for r in cursor.fetchall()]
    return pairs


LATEST = """(SELECT l.value FROM {obs} l
         WHERE l.version_id = p.version_id AND l.metric_id = p.metric_id
           AND l.segment = p.segment AND l.timestamp = p.window_end)"""

# SQLite: one join of the windows to their rows, grouped per pair.
AGGREGATE_SQL = """
WITH p (threshold_id, version_id, metric_id, segment, window_start, window_end) AS (
    VALUES {values}
)
SELECT p.threshold_id, p.version_id, COUNT(*), AVG(o.value), MIN(o.value), MAX(o.value),
       {latest}
  FROM p
  JOIN {obs} o ON o.version_id = p.version_id AND o.metric_id = p.metric_id
              AND o.segment = p.segment
              AND o.timestamp >= p.window_start AND o.timestamp <= p.window_end
 GROUP BY p.threshold_id, p.version_id, p.metric_id, p.segment, p.window_end
"""

# PostgreSQL: the same, as one index range scan per window (a LATERAL join), which reads
# only the windows' rows instead of hashing the whole table.
AGGREGATE_SQL_LATERAL = """
SELECT p.threshold_id, p.version_id, a.n, a.mean, a.lo, a.hi, {latest}
  FROM (VALUES {values}) AS p (threshold_id, version_id, metric_id, segment, window_start,
                               window_end)
 CROSS JOIN LATERAL (
     SELECT COUNT(*) AS n, AVG(o.value) AS mean, MIN(o.value) AS lo, MAX(o.value) AS hi
       FROM {obs} o
      WHERE o.version_id = p.version_id AND o.metric_id = p.metric_id
        AND o.segment = p.segment
        AND o.timestamp >= p.window_start AND o.timestamp <= p.window_end
 ) a
 WHERE a.n > 0
"""


def _typed(placeholder: str, types: tuple[str, ...]) -> str:
    """On PostgreSQL, VALUES columns take their types from the first row: say them."""
    if connection.vendor != "postgresql":
        return placeholder
    parts = placeholder.strip("()").split(", ")
    return "(" + ", ".join(f"{p}::{t}" for p, t in zip(parts, types, strict=True)) + ")"


def _row_placeholder() -> str:
    return _typed(
        "(%s, %s, %s, %s, %s, %s)",
        ("bigint", "bigint", "bigint", "varchar", "timestamptz", "timestamptz"),
    )


def _chunks(items: Sequence, size: int) -> Iterator[Sequence]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def aggregate_windows(windows: Sequence[Window]) -> list[Aggregate]:
    """Count, mean, min, max and the value at the window's end, per window."""
    adapt = connection.ops.adapt_datetimefield_value
    placeholder = _row_placeholder()
    out: list[Aggregate] = []
    for chunk in _chunks(windows, CHUNK):
        params: list = []
        for w in chunk:
            params += [
                w.threshold_id,
                w.version_id,
                w.metric_id,
                w.segment,
                adapt(w.start),
                adapt(w.end),
            ]
        template = AGGREGATE_SQL_LATERAL if connection.vendor == "postgresql" else AGGREGATE_SQL
        tables = _tables()
        sql = template.format(
            values=", ".join([placeholder] * len(chunk)),
            latest=LATEST.format(**tables),
            **tables,
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        out += [Aggregate(*row) for row in rows]
    return out
