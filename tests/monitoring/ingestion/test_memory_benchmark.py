"""The memory benchmark, CI-sized: a real gunicorn and a real Celery worker take a metric file
and a drift run, and stay within the memory targets (web +≤ 50 MB per upload, worker ≤ 500 MB).
The full-size run (a 200 MB file, drift samples at the row cap) is documented in
benchmarks/README.md."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

pytestmark = pytest.mark.services

ROOT = Path(__file__).resolve().parents[3]


def test_uploads_stay_within_the_memory_targets():
    env = {**os.environ, "MLGOV_BENCH_DB": f"mlgov_bench_memory_{uuid.uuid4().hex[:8]}"}
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "ingestion_memory.py"),
            "--rows",
            "150000",
            "--drift-rows",
            "150000",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "targets: web process +≤ 50 MB per upload" in result.stdout
