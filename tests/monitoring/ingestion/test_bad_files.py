"""Bad files: each one fails its batch with a clear reason (naming the row and column where
there is one) and writes no observation."""

from __future__ import annotations

import gzip
import io
import json
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from apps.monitoring.choices import BatchStage, BatchStatus
from apps.monitoring.models import Observation
from tests.monitoring.ingestion.conftest import HEADER, csv_bytes, good_rows, row

pytestmark = pytest.mark.django_db

GOOD = good_rows(3)


@dataclass(frozen=True)
class Bad:
    id: str
    data: bytes
    expected: str  # in the batch error, or in the first row error's reason
    file_name: str = "metrics.csv"
    row: int | None = None  # the row error's row, when the file is rejected row by row
    column: str | None = None


def _parquet(**columns) -> bytes:
    out = io.BytesIO()
    pq.write_table(pa.table(columns), out)
    return out.getvalue()


def _jsonl(*records) -> bytes:
    return "\n".join(r if isinstance(r, str) else json.dumps(r) for r in records).encode()


RECORD = {
    "model": "owned-model",
    "version": "1.0.0",
    "metric": "auc",
    "value": 0.8,
    "timestamp": "2025-01-01T00:00:00Z",
}
LATER = {**RECORD, "timestamp": "2025-01-02T00:00:00Z"}

BAD = [
    # the file as a whole
    Bad("empty", b"", "The file is empty."),
    Bad("blank lines only", b"\n\n  \n", "The file is empty."),
    Bad("header only", csv_bytes(), "header but no data rows"),
    Bad("semicolons", csv_bytes(*GOOD).replace(b",", b";"), "use commas"),
    Bad("tabs", csv_bytes(*GOOD).replace(b",", b"\t"), "use commas"),
    Bad("missing column", b"model,version,metric,value\nowned-model,1.0.0,auc,1\n", "timestamp"),
    Bad("extra columns", csv_bytes(header=HEADER + ",unit,comment"), "'unit', 'comment'"),
    Bad("repeated column", csv_bytes(header=HEADER + ",value"), "more than once: value"),
    Bad("latin-1", (HEADER + "\n" + row(segment="région") + "\n").encode("latin-1"), "line 2"),
    Bad("windows-1252", csv_bytes(*GOOD) + "€".encode("cp1252"), "not UTF-8"),
    Bad("binary garbage", bytes(range(256)) * 40, "not a text file"),
    Bad("mislabelled gzip", csv_bytes(*GOOD), "not gzip-compressed", file_name="m.csv.gz"),
    Bad("corrupt gzip", gzip.compress(csv_bytes(*GOOD))[:30], "could not be decompressed"),
    Bad("not parquet", csv_bytes(*GOOD), "not one", file_name="m.parquet"),
    Bad(
        "parquet with a numeric model",
        _parquet(
            model=[1],
            version=["1.0.0"],
            metric=["auc"],
            value=[1.0],
            timestamp=["2025-01-01T00:00:00Z"],
        ),
        "'model' is of type int64",
        file_name="m.parquet",
    ),
    Bad(
        "parquet with epoch timestamps",
        _parquet(
            model=["owned-model"],
            version=["1.0.0"],
            metric=["auc"],
            value=[1.0],
            timestamp=[1735689600],
        ),
        "'timestamp' is of type int64",
        file_name="m.parquet",
    ),
    Bad("json that is no array", b'{"rows": "none"}', "array of row objects", file_name="m.json"),
    # row by row
    Bad(
        "non-numeric",
        csv_bytes(*GOOD, row(value="high", timestamp="2025-02-01T00:00:00Z")),
        "Not a number",
        row=5,
        column="value",
    ),
    Bad("NaN", csv_bytes(row(value="NaN")), "NaN is not allowed", row=2, column="value"),
    Bad("infinite", csv_bytes(row(value="inf")), "Infinite", row=2, column="value"),
    Bad("missing value", csv_bytes(row(value="")), "Missing value", row=2, column="value"),
    Bad(
        "zone-less",
        csv_bytes(row(timestamp="2025-01-01T00:00:00")),
        "No time zone",
        row=2,
        column="timestamp",
    ),
    Bad(
        "date only",
        csv_bytes(row(timestamp="2025-01-01")),
        "No time zone",
        row=2,
        column="timestamp",
    ),
    Bad(
        "unparseable",
        csv_bytes(row(timestamp="01/02/2025 10:00")),
        "Not an ISO 8601",
        row=2,
        column="timestamp",
    ),
    Bad(
        "far future",
        csv_bytes(row(timestamp="2999-01-01T00:00:00Z")),
        "in the future",
        row=2,
        column="timestamp",
    ),
    Bad("unknown model", csv_bytes(row(model="nope")), "Unknown model", row=2, column="model"),
    Bad(
        "foreign model",
        csv_bytes(row(model="foreign-model")),
        "Unknown model, or one you may not push",
        row=2,
        column="model",
    ),
    Bad(
        "unknown version",
        csv_bytes(row(version="9.9.9")),
        "Unknown version",
        row=2,
        column="version",
    ),
    Bad("unknown metric", csv_bytes(row(metric="gini")), "Unknown metric", row=2, column="metric"),
    Bad("missing model", csv_bytes(row(model="")), "Missing model", row=2, column="model"),
    Bad(
        "duplicate rows", csv_bytes(row(), row(value="0.5")), "as row 2", row=3, column="timestamp"
    ),
    Bad(
        "formula segment",
        csv_bytes(row(segment='=HYPERLINK("http://x")')),
        "formula",
        row=2,
        column="segment",
    ),
    Bad(
        "very long segment",
        csv_bytes(row(segment="s" * 5000)),
        "Longer than 100",
        row=2,
        column="segment",
    ),
    Bad(
        "very long model name",
        csv_bytes(row(model="m" * 10_000)),
        "Unknown model",
        row=2,
        column="model",
    ),
    Bad("too many fields", csv_bytes(row() + ",extra"), "found 7", row=2, column=""),
    Bad(
        "bad JSON Lines line",
        _jsonl(RECORD, "{oops", LATER),
        "Not valid JSON",
        file_name="m.jsonl",
        row=2,
        column="",
    ),
    Bad(
        "parquet with text values",
        _parquet(
            model=["owned-model"],
            version=["1.0.0"],
            metric=["auc"],
            value=["n/a"],
            timestamp=["2025-01-01T00:00:00Z"],
        ),
        "Not a number",
        file_name="m.parquet",
        row=1,
        column="value",
    ),
]


def test_there_are_at_least_thirty_bad_files():
    assert len(BAD) >= 30


@pytest.mark.parametrize("bad", BAD, ids=lambda b: b.id)
def test_a_bad_file_fails_with_a_clear_reason_and_writes_nothing(bad, ingest):
    batch, created = ingest(bad.data, bad.file_name)
    assert created
    assert batch.status == BatchStatus.FAILED and batch.stage == BatchStage.DONE
    assert Observation.objects.count() == 0
    assert batch.rows_loaded == 0 and batch.error
    if bad.row is None:
        assert bad.expected in batch.error, batch.error
        return
    assert "nothing was loaded" in batch.error
    first = batch.row_errors[0]
    assert (first["row"], first["column"]) == (bad.row, bad.column), batch.row_errors
    assert bad.expected in first["reason"], first
    assert len(first["value"]) <= 80


def test_an_oversize_file_fails_before_it_is_read_or_stored(ingest, settings):
    settings.MLGOV_INGEST_MAX_BYTES = 100
    batch, created = ingest(csv_bytes(*GOOD))
    assert created and batch.status == BatchStatus.FAILED
    assert "larger than the limit" in batch.error and "MLGOV_INGEST_MAX_BYTES" in batch.error
    assert not batch.file and batch.rows_total == 0
    assert Observation.objects.count() == 0


def test_a_bom_is_accepted(ingest):
    batch, _ = ingest(b"\xef\xbb\xbf" + csv_bytes(*GOOD))
    assert batch.status == BatchStatus.SUCCEEDED and batch.rows_loaded == 3
    assert Observation.objects.count() == 3


def test_one_bad_row_among_good_ones_loads_nothing_by_default(ingest):
    batch, _ = ingest(
        csv_bytes(*good_rows(50), row(value="oops", timestamp="2025-03-01T00:00:00Z"))
    )
    assert batch.status == BatchStatus.FAILED and batch.rows_total == 51
    assert batch.rows_rejected == 1 and batch.rows_loaded == 0
    assert batch.error.startswith("1 of 51 rows were rejected")
    assert Observation.objects.count() == 0
