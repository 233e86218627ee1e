"""Rows in the order of the primary key, and the series read off them (no database)."""

from __future__ import annotations

import pandas as pd

from apps.monitoring.ingestion import binary


def test_rows_are_put_in_key_order_and_their_series_read_off_it():
    rows = pd.DataFrame(
        {
            "version_id": [2, 1, 2, 1, 1],
            "metric_id": [5, 7, 5, 5, 7],
            "segment": [None, "", "", "eu", ""],
            "timestamp": pd.to_datetime([3, 2, 1, 1, 1], unit="h", utc=True),
            "value": [0.3, 0.2, 0.1, 0.9, 0.4],
        }
    )
    segments = binary.key_ordered(rows)
    assert [s.name for s in segments] == ["", "eu"]
    plain = segments[0]
    assert list(zip(plain.version_id, plain.metric_id, plain.value, strict=True)) == [
        (1, 7, 0.4),
        (1, 7, 0.2),
        (2, 5, 0.1),
        (2, 5, 0.3),
    ]
    assert [s for segment in segments for s in segment.series()] == [
        (1, 7, ""),
        (2, 5, ""),
        (1, 5, "eu"),
    ]
    # Already in key order (a file written series by series): kept as it is.
    ordered = rows[rows["segment"] == ""].iloc[[1, 0]]
    (again,) = binary.key_ordered(ordered)
    assert list(again.value) == [0.2, 0.1]
