"""Time-bucketed rollups of observation series: pure computations (numpy, no database).

The loader reduces the rows it loads with ``reduce_segment`` and writes the result (see
``apps/monitoring/ingestion/loader.py``); the charts read daily or hourly rows for long
ranges instead of the raw observations. Bucketing raw rows and bucketing rollups give the
same counts, sums, lowest and highest values and first and last times, since every rollup
width divides the chart's bucket width and both are aligned to the Unix epoch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

HOUR = 3600
DAY = 86400
WIDTHS = (HOUR, DAY)
_US = 1_000_000


@dataclass(frozen=True)
class Buckets:
    """Rows of a rollup, in key order (version, metric, bucket): one per bucket."""

    width: int
    version_id: np.ndarray
    metric_id: np.ndarray
    bucket: np.ndarray  # Unix seconds of the bucket's start
    count: np.ndarray
    total: np.ndarray
    low: np.ndarray
    high: np.ndarray
    first_us: np.ndarray  # Unix microseconds of the first and last observation
    last_us: np.ndarray
    dense: np.ndarray  # daily rows: some hour of the day holds more than one row

    def __len__(self) -> int:
        return len(self.bucket)

    def take(self, keep: np.ndarray) -> Buckets:
        return Buckets(
            self.width,
            *(
                getattr(self, f)[keep]
                for f in (
                    "version_id",
                    "metric_id",
                    "bucket",
                    "count",
                    "total",
                    "low",
                    "high",
                    "first_us",
                    "last_us",
                    "dense",
                )
            ),
        )


def _starts(version_id: np.ndarray, metric_id: np.ndarray, bucket: np.ndarray) -> np.ndarray:
    """Where the key (version, metric, bucket) changes, rows in key order."""
    change = (np.diff(version_id) != 0) | (np.diff(metric_id) != 0) | (np.diff(bucket) != 0)
    return np.concatenate(([0], np.flatnonzero(change) + 1)).astype(np.int64)


def _ends(starts: np.ndarray, n: int) -> np.ndarray:
    return np.concatenate((starts[1:], [n])) - 1


def hourly(
    version_id: np.ndarray, metric_id: np.ndarray, micros: np.ndarray, value: np.ndarray
) -> Buckets:
    """Observation rows of one segment, in key order (version, metric, time), reduced to
    hours."""
    n = len(micros)
    if not n:
        empty = np.empty(0, dtype=np.int64)
        return Buckets(HOUR, empty, empty, empty, empty, *(np.empty(0),) * 3, empty, empty, empty)
    bucket = np.floor_divide(micros, HOUR * _US) * HOUR
    starts = _starts(version_id, metric_id, bucket)
    ends = _ends(starts, n)
    return Buckets(
        width=HOUR,
        version_id=version_id[starts],
        metric_id=metric_id[starts],
        bucket=bucket[starts],
        count=ends - starts + 1,
        total=np.add.reduceat(value, starts),
        low=np.minimum.reduceat(value, starts),
        high=np.maximum.reduceat(value, starts),
        first_us=micros[starts],
        last_us=micros[ends],
        dense=np.zeros(len(starts), dtype=bool),
    )


def daily(hours: Buckets) -> tuple[Buckets, np.ndarray]:
    """Hourly rows reduced to days, and for each hourly row the index of its day."""
    n = len(hours)
    day = np.floor_divide(hours.bucket, DAY) * DAY
    if not n:
        return hours, np.empty(0, dtype=np.int64)
    starts = _starts(hours.version_id, hours.metric_id, day)
    ends = _ends(starts, n)
    days = Buckets(
        width=DAY,
        version_id=hours.version_id[starts],
        metric_id=hours.metric_id[starts],
        bucket=day[starts],
        count=np.add.reduceat(hours.count, starts),
        total=np.add.reduceat(hours.total, starts),
        low=np.minimum.reduceat(hours.low, starts),
        high=np.maximum.reduceat(hours.high, starts),
        first_us=hours.first_us[starts],
        last_us=hours.last_us[ends],
        dense=np.maximum.reduceat(hours.count, starts) > 1,
    )
    return days, np.repeat(np.arange(len(starts)), ends - starts + 1)


def reduce_rows(
    version_id: np.ndarray, metric_id: np.ndarray, micros: np.ndarray, value: np.ndarray
) -> tuple[Buckets, Buckets]:
    """The daily rows of the observations, and the hourly rows of their dense days."""
    hours = hourly(version_id, metric_id, micros, value)
    days, day_of_hour = daily(hours)
    if not len(days):
        return days, hours
    return days, hours.take(days.dense[day_of_hour])


#: Ranges up to this long are read from the raw rows, up to ``HOURLY_UP_TO`` from the
#: hourly rollups, longer ones from the daily rollups: at most a few thousand rows a series.
RAW_UP_TO = 3 * DAY
HOURLY_UP_TO = 45 * DAY


def chart_width(start: float, end: float, buckets: int) -> tuple[float, int | None]:
    """The bucket width (seconds) of a chart of ``[start, end)`` in at most ``buckets``
    buckets, and the rollup width it reads (None: raw rows). With a rollup the width is a
    whole multiple of the rollup's, so rollup buckets fall whole into chart buckets."""
    span = end - start
    width = max(span / max(buckets, 1), 1.0)
    if span <= RAW_UP_TO:
        return width, None
    rollup = HOUR if span <= HOURLY_UP_TO else DAY
    return float(max(-(-width // rollup), 1) * rollup), rollup
