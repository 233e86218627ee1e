"""Large files go through in chunks: row numbers, repeats and all-or-nothing hold across
chunk boundaries, every format streams, and the stored file is never orphaned."""

from __future__ import annotations

import gzip
import io
import json
import threading

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile, TemporaryUploadedFile
from django.db import connection, transaction

from apps.monitoring.choices import BatchStatus, IngestionSource
from apps.monitoring.ingestion import parse, services
from apps.monitoring.models import IngestionBatch, Observation
from tests.monitoring.ingestion.conftest import HEADER, csv_bytes, good_rows, row

pytestmark = pytest.mark.django_db


@pytest.fixture
def small_chunks(monkeypatch):
    """About 3 rows of CSV or JSON Lines per chunk, 4 rows per Parquet or JSON chunk."""
    monkeypatch.setattr(parse, "CHUNK_BYTES", 150)
    monkeypatch.setattr(parse, "CHUNK_ROWS", 4)


def _times(n: int) -> list[str]:
    return [f"2025-02-{1 + i // 24:02d}T{i % 24:02d}:00:00Z" for i in range(n)]


def test_a_file_loads_in_many_chunks(ingest, small_chunks):
    data = csv_bytes(*(row(value=f"0.{i:02d}", timestamp=t) for i, t in enumerate(_times(40))))
    chunks = list(parse.read_chunks(io.BytesIO(data), file_name="m.csv", max_bytes=10**6))
    assert len(chunks) > 10 and max(len(c.frame) for c in chunks) <= 3
    batch, _ = ingest(data)
    assert batch.status == BatchStatus.SUCCEEDED and batch.rows_loaded == 40
    assert Observation.objects.filter(batch=batch).count() == 40


def test_rows_keep_the_files_line_numbers_across_chunks(ingest, small_chunks):
    lines = [row(timestamp=t) for t in _times(30)]
    lines[25] = row(value="oops", timestamp=_times(30)[25])
    lines.insert(12, "")  # a blank line counts
    batch, _ = ingest(csv_bytes(*lines))
    assert batch.status == BatchStatus.FAILED and batch.rows_rejected == 1
    assert [(e["row"], e["column"]) for e in batch.row_errors] == [(28, "value")]
    assert Observation.objects.count() == 0


def test_a_repeat_of_a_row_in_an_earlier_chunk_names_that_row(ingest, small_chunks):
    times = _times(20)
    lines = [row(timestamp=t) for t in times] + [row(value="0.5", timestamp=times[2])]
    batch, _ = ingest(csv_bytes(*lines))
    assert batch.status == BatchStatus.FAILED and Observation.objects.count() == 0
    assert (batch.rows_total, batch.rows_rejected) == (21, 1)
    (error,) = batch.row_errors
    assert (error["row"], error["column"]) == (22, "timestamp")
    assert error["reason"] == "Same model, version, metric, segment and timestamp as row 4."


def test_accepting_partial_loads_the_first_of_repeated_rows_once(ingest, small_chunks):
    times = _times(20)
    lines = [row(timestamp=t) for t in times] + [row(value="0.5", timestamp=times[2])]
    batch, _ = ingest(csv_bytes(*lines), accept_partial=True)
    assert batch.status == BatchStatus.PARTIAL
    assert (batch.rows_loaded, batch.rows_duplicate, batch.rows_rejected) == (20, 0, 1)
    kept = Observation.objects.get(timestamp=times[2].replace("Z", "+00:00"))
    assert kept.value == pytest.approx(0.81)


def test_rows_recorded_by_an_earlier_batch_are_skipped_across_chunks(ingest, small_chunks):
    ingest(csv_bytes(*good_rows(10)))
    batch, _ = ingest(csv_bytes(*good_rows(25)))
    assert batch.status == BatchStatus.SUCCEEDED
    assert (batch.rows_loaded, batch.rows_duplicate, batch.rows_rejected) == (15, 10, 0)
    assert Observation.objects.count() == 25


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
def test_json_lines_and_documents_stream_with_their_row_numbers(ingest, small_chunks, compress):
    records = [
        {"model": "owned-model", "version": "1.0.0", "metric": "auc", "value": 0.8, "timestamp": t}
        for t in _times(15)
    ]
    lines = [json.dumps(r) for r in records]
    lines[9] = "{oops"
    jsonl = "\n".join(lines).encode()
    document = json.dumps({"source": {"name": "x"}, "rows": [*records[:9], 3, *records[10:]]})
    for data, name, row_number in ((jsonl, "m.jsonl", 10), (document.encode(), "m.json", 10)):
        data = gzip.compress(data) if compress else data
        batch, _ = ingest(data, name, accept_partial=True)
        assert batch.status == BatchStatus.PARTIAL, batch.error
        assert (batch.rows_total, batch.rows_rejected) == (15, 1)
        assert batch.row_errors[0]["row"] == row_number and batch.compressed == compress
        Observation.objects.all().delete()


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
def test_parquet_streams_by_record_batches(ingest, small_chunks, compress):
    times = _times(11)
    table = pa.table(
        {
            "model": ["owned-model"] * 11,
            "version": ["1.0.0"] * 11,
            "metric": ["auc"] * 11,
            "value": [0.5] * 10 + [float("nan")],
            "timestamp": times,
        }
    )
    out = io.BytesIO()
    pq.write_table(table, out, row_group_size=5)
    data = gzip.compress(out.getvalue()) if compress else out.getvalue()
    chunks = list(parse.read_chunks(io.BytesIO(data), file_name="m.parquet", max_bytes=10**6))
    assert [len(c.frame) for c in chunks] == [4, 4, 3]
    batch, _ = ingest(data, "m.parquet", accept_partial=True)
    assert batch.status == BatchStatus.PARTIAL and batch.rows_loaded == 10
    assert [(e["row"], e["column"]) for e in batch.row_errors] == [(11, "value")]


def test_a_parquet_row_group_over_the_bound_is_refused(ingest, monkeypatch):
    monkeypatch.setattr(parse, "PARQUET_MAX_ROW_GROUP_BYTES", 100)
    table = pa.table({c: ["x"] * 50 for c in ("model", "version", "metric", "timestamp")})
    out = io.BytesIO()
    pq.write_table(table.append_column("value", pa.array(np.ones(50))), out)
    batch, _ = ingest(out.getvalue(), "m.parquet")
    assert batch.status == BatchStatus.FAILED and "smaller row groups" in batch.error


def test_a_line_too_long_is_refused_without_reading_on(monkeypatch):
    monkeypatch.setattr(parse, "MAX_LINE_BYTES", 1000)
    data = HEADER.encode() + b"\n" + b"x" * 5000
    with pytest.raises(parse.FileRefused, match="Line 2 is longer"):
        list(
            parse.read_chunks(io.BytesIO(data), file_name="m.csv", max_bytes=10**6, chunk_bytes=100)
        )


def test_gzip_is_capped_while_it_streams():
    rng = np.random.default_rng(1)
    data = gzip.compress(
        csv_bytes(*(row(segment=f"s{rng.bytes(30).hex()}") for _ in range(20_000)))
    )
    source = io.BytesIO(data)
    with pytest.raises(parse.FileRefused, match="Decompressed, the file is larger"):
        for _ in parse.read_chunks(
            source, file_name="m.csv.gz", max_bytes=100_000, chunk_bytes=4096
        ):
            pass
    assert source.tell() < len(data)  # stopped at the cap, not at the end


# --- the web side: no whole read, no orphan -----------------------------------------------------


def _stored_files(settings) -> list:
    root = settings.MEDIA_ROOT / "ingestion"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_an_upload_is_hashed_and_stored_from_the_file_object(model_owner, auc, versions, settings):
    data = csv_bytes(*good_rows(3))
    upload = TemporaryUploadedFile("m.csv", "text/csv", len(data), None)  # spooled to disk
    upload.write(data)
    upload.seek(0)
    reads = []
    real = upload.file.read
    upload.file.read = lambda size=-1: reads.append(size) or real(size)
    batch, created = services.ingestion_batch_create(
        user=model_owner, source=IngestionSource.UPLOAD, data=upload, file_name="m.csv"
    )
    assert created and batch.size_bytes == len(data) and batch.file.read() == data
    assert reads and all(0 < size <= 1 << 20 for size in reads)  # chunks, never read(-1)
    upload.close()  # as the request does: the temporary file was moved into the storage


def test_a_failure_after_the_file_is_stored_deletes_it(
    model_owner, auc, versions, settings, monkeypatch
):
    def broken(user, batch):
        raise RuntimeError("audit unavailable")

    monkeypatch.setattr(services, "_audit_created", broken)
    with pytest.raises(RuntimeError):
        services.ingestion_batch_create(
            user=model_owner,
            source=IngestionSource.UPLOAD,
            data=csv_bytes(*good_rows(3)),
            file_name="m.csv",
        )
    assert _stored_files(settings) == [] and not IngestionBatch.objects.exists()


def test_the_sweep_removes_files_left_by_a_rolled_back_transaction(
    model_owner, auc, versions, settings
):
    import datetime

    kept, _ = services.ingestion_batch_create(
        user=model_owner,
        source=IngestionSource.UPLOAD,
        data=csv_bytes(*good_rows(2)),
        file_name="a.csv",
    )
    with pytest.raises(RuntimeError), transaction.atomic():
        services.ingestion_batch_create(
            user=model_owner,
            source=IngestionSource.UPLOAD,
            data=csv_bytes(*good_rows(3)),
            file_name="b.csv",
        )
        raise RuntimeError("the caller's transaction fails after the file was stored")
    assert len(_stored_files(settings)) == 2
    assert services.ingestion_files_sweep(older_than=datetime.timedelta(hours=1)) == []
    (orphan,) = services.ingestion_files_sweep(older_than=datetime.timedelta(0))
    assert orphan != kept.file.name
    assert [str(p.relative_to(settings.MEDIA_ROOT)) for p in _stored_files(settings)] == [
        kept.file.name
    ]


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_ten_parallel_identical_uploads_store_one_file_and_one_batch(
    model_owner, auc, versions, settings
):
    data = csv_bytes(*good_rows(500))
    barrier = threading.Barrier(10)
    outcomes, errors = [], []

    def upload():
        try:
            barrier.wait(timeout=10)
            outcomes.append(
                services.ingestion_batch_create(
                    user=model_owner,
                    source=IngestionSource.API,
                    data=SimpleUploadedFile("m.csv", data),
                    file_name="m.csv",
                )
            )
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=upload) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sum(created for _, created in outcomes) == 1
    assert len({batch.pk for batch, _ in outcomes}) == 1
    assert IngestionBatch.objects.count() == 1
    assert len(_stored_files(settings)) == 1
