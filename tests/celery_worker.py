"""A real Celery worker in a subprocess, for task integration tests against Redis/PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.db import connection

from mlgov.celery import app

ROOT = Path(__file__).resolve().parent.parent


def _database_url_for_test_db() -> str:
    s = connection.settings_dict
    user = s.get("USER") or "postgres"
    host = s.get("HOST") or "127.0.0.1"
    port = s.get("PORT") or 5432
    return f"postgres://{user}@{host}:{port}/{s['NAME']}"


@contextmanager
def running_worker(timeout: float = 60.0, queue: str | None = None) -> Iterator[str]:
    """Start a worker on a private queue pointed at the test database; yield the queue name.

    Pass ``queue`` to start a worker on the queue of an earlier one (e.g. after killing it).
    The worker is stopped (and killed if it lingers) when the block ends.
    """
    queue = queue or f"mlgov-test-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "DATABASE_URL": _database_url_for_test_db()}
    # The worker signs audit checkpoints into this test's own file (tests/audit/isolation.py).
    env["MLGOV_AUDIT_CHECKPOINT_PATH"] = str(settings.MLGOV_AUDIT_CHECKPOINT_PATH)
    env.setdefault("DJANGO_SECRET_KEY", "worker-test-key")
    cmd = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "mlgov",
        "worker",
        "--pool=solo",
        "--concurrency=1",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        "-Q",
        queue,
        "-n",
        f"{queue}@%h",
        "--loglevel=INFO",
    ]
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"celery worker exited early:\n{proc.stdout.read()}")
            replies = app.control.ping(destination=[f"{queue}@{os.uname().nodename}"], timeout=1)
            if replies:
                break
        else:
            raise RuntimeError("celery worker did not answer a ping in time")
        yield queue
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
