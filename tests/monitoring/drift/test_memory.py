"""Drift samples are bounded by design: caps on decompressed bytes, rows and columns refuse
a sample naming the file and the cap (at upload, and again in the worker), and the worker
tests a few columns at a time with the same results as all at once."""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile, TemporaryUploadedFile
from django.utils import timezone

from apps.core.errors import ApplicationError
from apps.monitoring.drift import files, services, stats
from apps.monitoring.models import DriftRun
from tests.monitoring.drift.factories import csv_upload, parquet_upload, samples

pytestmark = pytest.mark.django_db

LIMITS = files.Limits(decompressed_bytes=10**6, rows=100, columns=5)


def _create(user, version, ref, cur, capture):
    with capture(execute=True):
        run = services.drift_run_create(user=user, version=version, reference=ref, current=cur)
    run.refresh_from_db()
    return run


def _wide(columns: int, rows: int = 20) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({f"c{i}": rng.random(rows) for i in range(columns)})


@pytest.mark.parametrize("kind", ["csv", "csv.gz", "parquet", "parquet.gz"])
def test_rows_and_columns_over_the_caps_are_refused_naming_file_and_cap(kind):
    def sample(frame):
        out = io.BytesIO()
        if kind.startswith("csv"):
            out.write(frame.to_csv(index=False).encode())
        else:
            frame.to_parquet(out, index=False)
        data = out.getvalue()
        return io.BytesIO(gzip.compress(data) if kind.endswith(".gz") else data)

    with pytest.raises(files.SampleError, match=r"current file has 6 columns; the limit is 5 "):
        files.preview(sample(_wide(6)), label="current", limits=LIMITS)
    with pytest.raises(files.SampleError, match=r"reference file has more than 100 rows .*ROWS"):
        files.preview(sample(_wide(2, rows=101)), label="reference", limits=LIMITS)
    found, frame = files.preview(sample(_wide(5, rows=100)), label="current", limits=LIMITS)
    assert (found.rows, found.columns, len(frame)) == (100, 5, 100)
    assert found.compressed == kind.endswith(".gz")


def test_a_gzip_bomb_stops_at_the_cap_without_inflating_it_in_memory():
    data = gzip.compress(b"a,b\n" + b"1,2\n" * 2_000_000)  # 8 MB inflated, 8 kB sent
    source = io.BytesIO(data)
    with pytest.raises(
        files.SampleError, match="reference file is larger than 1,000,000 bytes once decompressed"
    ):
        files.preview(source, label="reference", limits=LIMITS)


def test_an_upload_over_a_cap_is_refused_on_its_field(model_owner, version, settings):
    settings.MLGOV_DRIFT_MAX_COLUMNS = 1
    ref, cur = samples(50)
    with pytest.raises(ApplicationError, match="MLGOV_DRIFT_MAX_COLUMNS") as refused:
        services.drift_run_create(
            user=model_owner, version=version, reference=csv_upload(ref), current=csv_upload(cur)
        )
    assert "reference" in refused.value.field_errors
    assert not DriftRun.objects.exists()


def test_the_worker_checks_the_caps_again(
    model_owner, version, settings, django_capture_on_commit_callbacks
):
    ref, cur = samples(300)
    with django_capture_on_commit_callbacks(execute=False):
        run = services.drift_run_create(
            user=model_owner, version=version, reference=csv_upload(ref), current=csv_upload(cur)
        )
    settings.MLGOV_DRIFT_MAX_ROWS = 200  # lowered after the upload was accepted
    run = services.drift_run_execute(run_id=run.pk)
    assert run.status == "failed"
    assert (
        "reference file has more than 200 rows" in run.error and "MLGOV_DRIFT_MAX_ROWS" in run.error
    )


@pytest.mark.parametrize("upload", [csv_upload, parquet_upload], ids=["csv", "parquet"])
def test_columns_tested_a_few_at_a_time_give_the_same_results(
    model_owner, version, monkeypatch, django_capture_on_commit_callbacks, upload
):
    rng = np.random.default_rng(3)
    n = 1200
    ref = pd.DataFrame(
        {
            "income": rng.normal(50, 10, n),
            "age": rng.integers(18, 90, n),
            "Region": rng.choice(["north", "south", "east"], n),
            "flag": rng.choice([True, False], n),
            "when": pd.date_range("2025-01-01", periods=n, freq="h").astype(str),
            "score": rng.random(n),
        }
    )
    cur = ref.assign(income=ref["income"] + 5, Region=rng.choice(["north", "west"], n))
    monkeypatch.setattr(services, "CELLS_PER_PASS", n)  # one column per pass
    run = _create(
        model_owner, version, upload(ref), upload(cur), django_capture_on_commit_callbacks
    )
    assert run.status == "succeeded", run.error
    expected = stats.dataset_drift(ref, cur)
    got = {c.column: c for c in run.columns.all()}
    assert list(got) == [c.column for c in expected.columns] or set(got) == {
        c.column for c in expected.columns
    }
    for column in expected.columns:
        assert got[column.column].score == pytest.approx(column.score, rel=1e-9)
        assert got[column.column].drifted == column.drifted
    assert run.drift_share == pytest.approx(expected.share)


def test_a_failure_after_the_samples_are_stored_removes_them(
    model_owner, version, settings, monkeypatch
):
    from apps.monitoring.drift import services as drift_services

    def broken(**kwargs):
        raise RuntimeError("audit unavailable")

    monkeypatch.setattr(drift_services, "audit_record", broken)
    ref, cur = samples(50)
    with pytest.raises(RuntimeError):
        services.drift_run_create(
            user=model_owner, version=version, reference=csv_upload(ref), current=csv_upload(cur)
        )
    root = Path(settings.MEDIA_ROOT) / "drift"
    assert not root.exists() or not [p for p in root.rglob("*") if p.is_file()]


def test_uploads_are_checked_from_the_file_object_in_chunks(model_owner, version):
    ref, cur = samples(50)
    data = ref.to_csv(index=False).encode()
    upload = TemporaryUploadedFile("ref.csv", "text/csv", len(data), None)  # spooled to disk
    upload.write(data)
    upload.seek(0)
    reads = []
    real = upload.file.read
    upload.file.read = lambda size=-1: reads.append(size) or real(size)
    services.drift_run_create(
        user=model_owner, version=version, reference=upload, current=csv_upload(cur)
    )
    assert reads and all(0 < size <= 1 << 23 for size in reads)  # chunks, never read(-1)
    upload.close()  # as the request does: the temporary file was moved into the storage


def test_a_named_bytes_upload_still_works(model_owner, version, django_capture_on_commit_callbacks):
    ref, cur = samples(50)
    run = _create(
        model_owner,
        version,
        ("ref.csv", ref.to_csv(index=False).encode()),
        SimpleUploadedFile("cur.csv", cur.to_csv(index=False).encode()),
        django_capture_on_commit_callbacks,
    )
    assert run.status == "succeeded" and run.reference_name == "ref.csv"


def test_wasserstein_summed_by_blocks_equals_scipy(monkeypatch):
    from scipy.stats import wasserstein_distance

    rng = np.random.default_rng(5)
    u, v = np.sort(rng.normal(0, 1, 5000)), np.sort(rng.normal(0.2, 1.3, 3000))
    monkeypatch.setattr(stats, "WASSERSTEIN_BLOCK", 1000)
    assert stats.wasserstein_sorted(u, v) == pytest.approx(wasserstein_distance(u, v), rel=1e-12)


def test_the_sweep_removes_samples_left_by_a_rolled_back_transaction(
    model_owner, version, settings
):
    import datetime

    from django.db import transaction

    ref, cur = samples(50)
    kept = services.drift_run_create(
        user=model_owner, version=version, reference=csv_upload(ref), current=csv_upload(cur)
    )
    later = timezone.now() - datetime.timedelta(hours=2)
    with pytest.raises(RuntimeError), transaction.atomic():
        services.drift_run_create(
            user=model_owner,
            version=version,
            reference=csv_upload(ref.head(40)),
            current=csv_upload(cur.head(40)),
            observed_at=later,
        )
        raise RuntimeError("the caller's transaction fails after the samples were stored")
    root = Path(settings.MEDIA_ROOT) / "drift"
    assert len([p for p in root.rglob("*") if p.is_file()]) == 4
    assert services.drift_files_sweep(older_than=datetime.timedelta(hours=1)) == []
    assert len(services.drift_files_sweep(older_than=datetime.timedelta(0))) == 2
    left = sorted(str(p.relative_to(settings.MEDIA_ROOT)) for p in root.rglob("*") if p.is_file())
    assert left == sorted([kept.reference_file.name, kept.current_file.name])
