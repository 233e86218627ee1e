"""The pure parser and validator, without a database."""

from __future__ import annotations

import datetime
import gzip
import io
import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from apps.monitoring.ingestion import parse, validate
from apps.monitoring.ingestion.loader import FRAME_COLUMNS
from tests.monitoring.ingestion.conftest import csv_bytes, row

NOW = datetime.datetime(2025, 6, 1, 12, 0, tzinfo=datetime.UTC)
LOOKUPS = validate.Lookups(
    models={"owned-model": 1, "other": 2},
    versions={(1, "1.0.0"): 10, (2, "1.0.0"): 20},
    metrics={"auc": 100, "recall": 101},
)


def check(data: bytes, file_name="m.csv", lookups=LOOKUPS, max_errors=100):
    parsed = parse.parse_bytes(data, file_name=file_name, max_bytes=10**8)
    return validate.validate(
        parsed, lookups=lookups, now=NOW, max_future_minutes=10, max_errors=max_errors
    )


def refused(data: bytes, file_name="m.csv") -> str:
    with pytest.raises(parse.FileRefused) as exc:
        parse.parse_bytes(data, file_name=file_name, max_bytes=10**8)
    return exc.value.message


def test_it_gives_the_loader_frame_with_ids_and_utc_times():
    result = check(
        csv_bytes(
            row(timestamp="2025-01-01T01:00:00+01:00"),
            row(value="1e-3", metric="recall", segment="region=eu"),
            row(model="other", timestamp="2025-01-02T00:00:00.5Z"),
        )
    )
    assert result.rows_total == 3 and result.rows_rejected == 0 and result.errors == []
    frame = result.frame
    assert {c: str(frame[c].dtype) for c in FRAME_COLUMNS} == {
        "version_id": "int64",
        "metric_id": "int64",
        "segment": "object",
        "timestamp": "datetime64[ns, UTC]",
        "value": "float64",
    }
    assert frame["version_id"].tolist() == [10, 10, 20]
    assert frame["metric_id"].tolist() == [100, 101, 100]
    assert frame["segment"].tolist() == ["", "region=eu", ""]
    assert frame["timestamp"].tolist() == [
        pd.Timestamp("2025-01-01T00:00:00Z"),
        pd.Timestamp("2025-01-01T00:00:00Z"),
        pd.Timestamp("2025-01-02T00:00:00.5Z"),
    ]
    assert frame["value"].tolist() == [0.81, 0.001, 0.81]


def test_the_segment_rule_is_the_models_segment_validator():
    from apps.monitoring.models import segment_validator

    assert segment_validator.regex.pattern == validate.SEGMENT_PATTERN


def test_csv_rows_are_numbered_by_line_counting_the_header_and_blank_lines():
    data = csv_bytes(row(), "", row(value="x", timestamp="2025-01-02T00:00:00Z"))
    result = check(data)
    assert [(e.row, e.column, e.value, e.reason) for e in result.errors] == [
        (4, "value", "x", "Not a number.")
    ]


def test_it_keeps_the_first_n_errors_and_counts_all():
    rows = [row(value="bad", timestamp=f"2025-01-01T{h:02d}:00:00Z") for h in range(20)]
    result = check(csv_bytes(*rows), max_errors=5)
    assert result.rows_rejected == 20 and len(result.errors) == 5
    assert [e.row for e in result.errors] == [2, 3, 4, 5, 6]


def test_a_duplicate_names_the_row_it_repeats():
    result = check(
        csv_bytes(row(), row(value="0.5", timestamp="2025-01-01T01:00:00+01:00"), row(segment="a"))
    )
    assert result.rows_rejected == 1
    (error,) = result.errors
    assert error.row == 3 and "as row 2" in error.reason


def test_a_model_the_pusher_may_not_push_to_reads_like_an_unknown_one():
    unknown = check(csv_bytes(row(model="does-not-exist"))).errors[0].reason
    hidden = check(csv_bytes(row(model="secret-model"))).errors[0].reason
    assert unknown == hidden == "Unknown model, or one you may not push metrics to."


def test_a_scoped_batch_takes_rows_of_its_model_only():
    scoped = validate.Lookups(
        models={"owned-model": 1},
        versions=LOOKUPS.versions,
        metrics=LOOKUPS.metrics,
        scope="owned-model",
    )
    result = check(csv_bytes(row(), row(model="other")), lookups=scoped)
    assert [(e.row, e.column) for e in result.errors] == [(3, "model")]
    assert "'owned-model' only" in result.errors[0].reason


def test_values_and_times_are_checked_per_row():
    result = check(
        csv_bytes(
            row(value="nan"),
            row(value="-inf", timestamp="2025-01-02T00:00:00Z"),
            row(value="", timestamp="2025-01-03T00:00:00Z"),
            row(timestamp="2025-01-04T00:00:00"),
            row(timestamp="2025-01-05"),
            row(timestamp="yesterday"),
            row(timestamp="2025-06-01T12:11:00Z"),
            row(timestamp="2025-06-01T12:09:00Z"),
        )
    )
    reasons = {e.row: e.reason for e in result.errors}
    assert reasons[2].startswith("NaN is not allowed")
    assert reasons[3] == "Infinite values are not allowed."
    assert reasons[4] == "Missing value."
    assert reasons[5].startswith("No time zone") and reasons[6].startswith("No time zone")
    assert reasons[7].startswith("Not an ISO 8601 timestamp")
    assert reasons[8] == "More than 10 minutes in the future."
    assert 9 not in reasons and result.rows_rejected == 7


def test_segments_refuse_formulas_and_long_names():
    result = check(
        csv_bytes(
            row(segment="=HYPERLINK(1)"),
            row(segment="a" * 101, timestamp="2025-01-02T00:00:00Z"),
            row(segment="two words", timestamp="2025-01-03T00:00:00Z"),
        )
    )
    reasons = [e.reason for e in result.errors]
    assert "spreadsheet formula" in reasons[0]
    assert reasons[1] == "Longer than 100 characters."
    assert reasons[2].startswith("Use letters, digits")
    assert len(result.errors[1].value) == parse.VALUE_PREVIEW


@pytest.mark.parametrize(
    ("data", "file_name", "expected"),
    [
        (b"", "m.csv", "The file is empty."),
        (b"model;version;metric;value;timestamp\n", "m.csv", "use commas"),
        (b"model,version,metric,value\nx,1,auc,1\n", "m.csv", "Missing columns: timestamp"),
        (csv_bytes(header="model,version,metric,value,timestamp,unit"), "m.csv", "'unit'"),
        (csv_bytes(), "m.csv", "header but no data rows"),
        ("é".encode("latin-1") + csv_bytes(row()), "m.csv", "not UTF-8 encoded"),
        (b"\x00\x01\x02binary" * 50, "m.csv", "not a text file"),
        (csv_bytes(row()), "m.csv.gz", "not gzip-compressed"),
        (b"\x1f\x8b\x08\x00garbage", "m.csv", "could not be decompressed"),
        (b"PAR1nonsense", "m.parquet", "Parquet file could not be read"),
        (csv_bytes(row()), "m.parquet", "not one"),
        (b'{"rows": 3}', "m.json", "array of row objects"),
    ],
)
def test_it_refuses_unreadable_files_with_a_reason(data, file_name, expected):
    assert expected in refused(data, file_name)


def test_latin1_is_refused_naming_the_line():
    data = csv_bytes(row(), row(segment="région"))
    data = data.decode().encode("latin-1")
    message = refused(data)
    assert "line 3" in message and "0xE9" in message


def test_a_bom_is_stripped():
    result = check(b"\xef\xbb\xbf" + csv_bytes(row()))
    assert result.rows_rejected == 0 and len(result.frame) == 1


def test_gzip_is_recognised_by_its_bytes_whatever_the_name():
    data = gzip.compress(csv_bytes(row()))
    for name in ("m.csv.gz", "m.csv", "upload"):
        parsed = parse.parse_bytes(data, file_name=name, max_bytes=10**6)
        assert parsed.compressed and len(parsed.frame) == 1


def test_a_gzip_bomb_is_refused_once_over_the_limit():
    data = gzip.compress(csv_bytes(*[row()] * 10_000))
    with pytest.raises(parse.FileRefused, match="Decompressed"):
        parse.parse_bytes(data, file_name="m.csv.gz", max_bytes=50_000)


def test_json_lines_report_bad_lines_and_keep_the_others():
    lines = [
        json.dumps(
            {
                "model": "owned-model",
                "version": "1.0.0",
                "metric": "auc",
                "value": 0.8,
                "timestamp": "2025-01-01T00:00:00Z",
            }
        ),
        "{not json",
        "",
        "[1, 2]",
        json.dumps(
            {
                "model": "owned-model",
                "version": "1.0.0",
                "metric": "auc",
                "value": 0.7,
                "timestamp": "2025-01-02T00:00:00Z",
            }
        ),
    ]
    result = check("\n".join(lines).encode(), file_name="m.jsonl")
    assert [(e.row, e.reason.split(":")[0]) for e in result.errors] == [
        (2, "Not valid JSON"),
        (4, "Each line must be a JSON object."),
    ]
    assert result.rows_total == 4 and result.rows_rejected == 2 and len(result.frame) == 2


def test_json_rows_accept_an_array_or_an_object_with_rows():
    rows = [
        {
            "model": "owned-model",
            "version": "1.0.0",
            "metric": "auc",
            "value": 1,
            "timestamp": "2025-01-01T00:00:00Z",
            "segment": None,
        }
    ]
    for body in (rows, {"rows": rows}):
        result = check(json.dumps(body).encode(), file_name="rows.json")
        assert result.rows_rejected == 0 and result.frame["value"].tolist() == [1.0]
    assert parse.json_rows_bytes(rows) == parse.json_rows_bytes([dict(reversed(rows[0].items()))])


def _parquet(**columns) -> bytes:
    out = io.BytesIO()
    pq.write_table(pa.table(columns), out)
    return out.getvalue()


def test_parquet_with_typed_columns_is_read():
    data = _parquet(
        model=["owned-model"],
        version=["1.0.0"],
        metric=["auc"],
        value=np.array([0.8]),
        timestamp=pa.array(
            [pd.Timestamp("2025-01-01T01:00:00+01:00")], pa.timestamp("ms", tz="Europe/Paris")
        ),
    )
    result = check(data, file_name="m.parquet")
    assert result.rows_rejected == 0
    assert result.frame["timestamp"].tolist() == [pd.Timestamp("2025-01-01T00:00:00Z")]


@pytest.mark.parametrize(
    ("column", "array", "expected"),
    [
        ("value", pa.array([True]), "must be numeric"),
        ("timestamp", pa.array([1735689600]), "timestamp with time zone or ISO 8601 text"),
        ("timestamp", pa.array([pd.Timestamp("2025-01-01")], pa.timestamp("us")), "no time zone"),
        ("model", pa.array([7]), "must be text"),
    ],
)
def test_parquet_with_wrong_types_is_refused_naming_the_column(column, array, expected):
    columns = {
        "model": ["owned-model"],
        "version": ["1.0.0"],
        "metric": ["auc"],
        "value": [0.8],
        "timestamp": ["2025-01-01T00:00:00Z"],
        column: array,
    }
    message = refused(_parquet(**columns), "m.parquet")
    assert repr(column) in message and expected in message


def test_a_million_rows_validate_in_seconds():
    import time

    n = 1_000_000
    frame = pd.DataFrame(
        {
            "model": np.where(np.arange(n) % 2, "owned-model", "other"),
            "version": "1.0.0",
            "metric": np.where(np.arange(n) % 3, "auc", "recall"),
            "value": np.random.default_rng(1).random(n).round(5),
            "timestamp": pd.date_range("2020-01-01", periods=n, freq="min", tz="UTC").strftime(
                "%Y-%m-%dT%H:%M:%SZ"
            ),
            "segment": "",
        }
    )
    data = frame.to_csv(index=False).encode()
    started = time.perf_counter()
    result = check(data)
    elapsed = time.perf_counter() - started
    assert result.rows_rejected == 0 and len(result.frame) == n
    assert elapsed < 20, f"validating 1M rows took {elapsed:.1f}s"
