"""Drift test data: samples, uploads of them, and runs stored without computing them."""

from __future__ import annotations

import gzip
import io

import numpy as np
import pandas as pd
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone


def samples(rows: int = 1500, *, shift: float = 1.0, seed: int = 0):
    """A reference and a current frame: ``age`` shifted by ``shift`` std, ``Region`` stable."""
    rng = np.random.default_rng(seed)
    ref = pd.DataFrame(
        {"age": rng.normal(40, 10, rows), "Region": rng.choice(["north", "south"], rows)}
    )
    cur = pd.DataFrame(
        {
            "age": rng.normal(40 + 10 * shift, 10, rows),
            "Region": rng.choice(["north", "south"], rows),
        }
    )
    return ref, cur


def csv_upload(frame: pd.DataFrame, name: str = "sample.csv", *, gz: bool = False):
    data = frame.to_csv(index=False).encode()
    if gz:
        data = gzip.compress(data)
    return SimpleUploadedFile(name, data, content_type="text/csv")


def parquet_upload(frame: pd.DataFrame, name: str = "sample.parquet"):
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="application/octet-stream")


def make_run(version, user, *, columns: int = 0, status: str = "succeeded", **kw):
    """A finished drift run stored directly (no files parsed), with ``columns`` results."""
    from apps.monitoring.models import DriftColumn, DriftRun

    run = DriftRun.objects.create(
        version=version,
        reference_file="drift/ref.csv",
        reference_name="ref.csv",
        reference_sha256="a" * 64,
        current_file="drift/cur.csv",
        current_name="cur.csv",
        current_sha256="b" * 64,
        observed_at=kw.pop("observed_at", None) or timezone.now(),
        status=status,
        columns_total=columns,
        columns_drifted=columns // 2,
        drift_share=0.5 if columns else None,
        dataset_drift=bool(columns),
        created_by=user,
        **kw,
    )
    DriftColumn.objects.bulk_create(
        DriftColumn(
            run=run,
            column=f"feature_{i}",
            kind="numeric" if i % 2 else "categorical",
            method=("wasserstein", "jensenshannon", "ks", "chisquare", "z")[i % 5],
            score=0.01 * i,
            threshold=0.1 if i % 5 < 2 else 0.05,
            drifted=i % 2 == 0,
            psi=0.02 * i,
        )
        for i in range(columns)
    )
    return run
