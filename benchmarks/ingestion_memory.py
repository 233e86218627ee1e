"""Memory of large uploads: peak RSS of the web process and of a worker for a 200 MB metric
file, and for a drift run at the row cap.

Creates a throwaway PostgreSQL database (``mlgov_bench_memory`` on the server of
``DATABASE_URL``, or ``MLGOV_BENCH_DB``; dropped at the end), migrates it and registers one
model, its version, ten metrics and an API token. Writes, in a temporary folder:

- a metric CSV in the canonical format of ``--mb`` MB (default 200; or ``--rows`` rows);
- a reference and a current drift sample as gzip-compressed CSV of ``--drift-rows`` rows
  (default ``MLGOV_DRIFT_MAX_ROWS``, 2,000,000: the largest run the caps allow in rows; the
  worker's memory does not grow with the number of columns, which it reads a few at a time)
  and ``--drift-columns`` columns (default 12: floats, integers and text).

Starts a real web server (gunicorn, one sync worker process, on a free 127.0.0.1 port, with
``MLGOV_INGEST_MAX_BYTES`` allowing the file) and a real Celery worker (solo pool: the work
runs in the worker process itself; a private queue on ``REDIS_URL``). Then, one at a time:

1. uploads the metric file to ``POST /api/v1/ingestion/`` (multipart, streamed from disk) and
   waits for the batch to load;
2. uploads both drift samples to ``POST /api/v1/drift-runs/`` and waits for the run.

For each it prints the web process's resident memory before the request and its high-water
mark during it (``VmRSS`` / ``VmHWM`` from ``/proc/<pid>/status``; the mark is reset through
``/proc/<pid>/clear_refs`` before each request), and the worker's high-water mark during the
job. Targets: the web process's high-water mark at most **50 MB** above its resident memory
before the upload, and the worker's at most **500 MB**, whatever the file's size. Exits
non-zero when a target is missed or a job fails.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python benchmarks/ingestion_memory.py [--mb 200] [--drift-rows 2000000]
    # quick (CI-sized): --rows 100000 --drift-rows 100000
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import numpy as np
import psycopg
import pyarrow as pa
import pyarrow.csv as pacsv

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.celery_workers import start_solo_workers, stop  # noqa: E402

BENCH_DB = os.environ.get("MLGOV_BENCH_DB", "mlgov_bench_memory")
WEB_TARGET_MB = 50
WORKER_TARGET_MB = 500
METRICS = 10
MODEL, VERSION = "bench-memory", "1.0.0"
MB = 1024 * 1024


def _database_urls() -> tuple[str, str]:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres") or not os.environ.get("REDIS_URL"):
        sys.exit(
            "Set DATABASE_URL (PostgreSQL; the benchmark creates and drops "
            f"{BENCH_DB}) and REDIS_URL (the worker's broker)."
        )
    parts = urlsplit(url)
    admin = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    bench = urlunsplit(parts._replace(path=f"/{BENCH_DB}"))
    return admin, bench


def _recreate(admin_url: str, *, drop_only: bool = False) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        if not drop_only:
            conn.execute(f"CREATE DATABASE {BENCH_DB}")


# --- files ------------------------------------------------------------------------------------


def write_metrics(path: Path, *, rows: int | None, megabytes: int) -> int:
    """A canonical metric CSV: one model and version, ten metrics, a value a minute going
    back from now; ``rows`` rows, or as many as fill ``megabytes``. Returns the rows."""
    per_row = len(f"{MODEL},{VERSION},bench.metric00,0.123456,2025-01-01T00:00:00Z,\n")
    total = rows or megabytes * MB // per_row
    start = np.datetime64("now", "m") - np.timedelta64(total // METRICS + 10, "m")
    rng = np.random.default_rng(7)
    with path.open("wb") as out:
        out.write(b"model,version,metric,value,timestamp,segment\n")
        for first in range(0, total, 500_000):
            n = min(500_000, total - first)
            index = np.arange(first, first + n)
            stamps = (start + (index // METRICS).astype("timedelta64[m]")).astype(str)
            table = pa.table(
                {
                    "model": np.full(n, MODEL),
                    "version": np.full(n, VERSION),
                    "metric": np.char.add(
                        "bench.metric", np.char.zfill((index % 10).astype(str), 2)
                    ),
                    "value": rng.random(n).round(6),
                    "timestamp": np.char.add(stamps, ":00Z"),
                    "segment": np.full(n, ""),
                }
            )
            pacsv.write_csv(
                table,
                out,
                write_options=pacsv.WriteOptions(include_header=False, quoting_style="none"),
            )
    return total


def write_drift_sample(path: Path, *, rows: int, columns: int, shift: float, seed: int) -> None:
    """A gzip-compressed CSV sample: a third floats, a third integers, a third text."""
    rng = np.random.default_rng(seed)
    data = {}
    for i in range(columns):
        if i % 3 == 0:
            data[f"f{i}"] = rng.normal(shift, 1.0, rows).round(5)
        elif i % 3 == 1:
            data[f"i{i}"] = rng.integers(0, 1000 + int(shift * 100), rows)
        else:
            data[f"t{i}"] = rng.choice(["north", "south", "east", "west"][: 3 + (shift > 0)], rows)
    with gzip.open(path, "wb", compresslevel=1) as out:
        pacsv.write_csv(pa.table(data), out)


# --- processes --------------------------------------------------------------------------------


def _status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not found for process {pid}")


def _reset_peak(pid: int) -> None:
    """Reset the process's VmHWM to its current RSS (Linux 4.0+)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _children(pid: int) -> list[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(p) for p in text]


def start_web(env: dict, folder: Path, queue: str) -> tuple[subprocess.Popen, int, int]:
    """gunicorn (one sync worker) on a free port; its jobs go to ``queue``. Returns the
    master process, the port and the worker process's id."""
    shim = folder / "bench_wsgi.py"
    shim.write_text(
        "from mlgov.wsgi import application  # noqa: F401\n"
        "from mlgov.celery import app\n"
        f"app.conf.task_default_queue = {queue!r}\n"
    )
    port = _free_port()
    cmd = [
        sys.executable,
        "-m",
        "gunicorn",
        "--workers=1",
        "--threads=1",
        "--timeout=600",
        f"--bind=127.0.0.1:{port}",
        f"--pythonpath={folder},{ROOT}",
        "--log-level=warning",
        "bench_wsgi:application",
    ]
    log = open(folder / "web.log", "w")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited early; see {folder / 'web.log'}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/api/v1/", headers={"Host": "localhost"})
            conn.getresponse().read()
            workers = _children(proc.pid)
            if workers:
                return proc, port, workers[0]
        except OSError:
            pass
        time.sleep(0.3)
    proc.kill()
    raise RuntimeError("gunicorn did not answer within 60 s")


# --- requests ---------------------------------------------------------------------------------


def post_multipart(port: int, path: str, token: str, fields: dict, files: dict) -> dict:
    """POST a multipart body streamed from disk (this process never holds the files)."""
    boundary = uuid.uuid4().hex
    parts: list[bytes | Path] = []
    for name, value in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
            f"{value}\r\n".encode()
        )
    for name, file in files.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
            f'filename="{file.name}"\r\nContent-Type: application/octet-stream\r\n\r\n'.encode()
        )
        parts.append(file)
        parts.append(b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    length = sum(p.stat().st_size if isinstance(p, Path) else len(p) for p in parts)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=900)
    conn.putrequest("POST", path, skip_host=True)
    for header, value in (
        ("Host", "localhost"),
        ("Authorization", f"Token {token}"),
        ("Content-Type", f"multipart/form-data; boundary={boundary}"),
        ("Content-Length", str(length)),
    ):
        conn.putheader(header, value)
    conn.endheaders()
    try:
        for part in parts:
            if isinstance(part, Path):
                with part.open("rb") as handle:
                    while chunk := handle.read(MB):
                        conn.send(chunk)
            else:
                conn.send(part)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the server answered before reading the whole body: its answer says why
    response = conn.getresponse()
    body = response.read()
    if response.status not in (200, 202):
        raise RuntimeError(f"{path} answered {response.status}: {body[:500]!r}")
    return json.loads(body)


def wait_final(model, pk: int, done: tuple[str, ...], timeout: float):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        obj = model.objects.get(pk=pk)
        if obj.status in done and getattr(obj, "stage", "done") == "done":
            return obj
        time.sleep(0.5)
    raise RuntimeError(f"{model.__name__} {pk} not final within {timeout:.0f} s")


# --- the run ----------------------------------------------------------------------------------


def setup(bench_url: str, media: Path) -> str:
    """Point this process at the bench database, migrate it, register the catalogue; return
    an API token key of an administrator."""
    os.environ["DATABASE_URL"] = bench_url
    os.environ["DJANGO_MEDIA_ROOT"] = str(media)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mlgov.settings")
    os.environ.setdefault("DJANGO_SECRET_KEY", "benchmark")
    os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1")
    if not os.environ.get("MLGOV_SIGNING_KEY_FILE"):
        from apps.core.signing import generate_private_key_pem

        os.environ.setdefault("MLGOV_SIGNING_KEY", generate_private_key_pem())
    os.environ.pop("CELERY_TASK_ALWAYS_EAGER", None)
    import django

    django.setup()
    from django.contrib.auth.models import Group
    from django.core.management import call_command

    from apps.accounts.models import User
    from apps.accounts.services import auth_token_create
    from apps.core import roles
    from apps.inventory.models import BusinessUnit, ModelVersion, RegisteredModel
    from apps.monitoring.models import MetricDefinition

    call_command("migrate", verbosity=0)
    admin = User.objects.create(username="bench-admin", is_staff=True)
    admin.groups.add(Group.objects.get_or_create(name=roles.ADMIN)[0])
    unit = BusinessUnit.objects.create(name="Benchmarks", code="bench")
    model = RegisteredModel.objects.create(
        slug=MODEL,
        name="Bench memory",
        purpose="Benchmark.",
        business_unit=unit,
        owner=admin,
        business_owner=admin,
        created_by=admin,
    )
    ModelVersion.objects.create(
        model=model,
        version=VERSION,
        artifact_uri="s3://bench/memory",
        artifact_sha256="0" * 64,
        created_by=admin,
    )
    MetricDefinition.objects.bulk_create(
        MetricDefinition(
            name=f"bench.metric{j:02d}", direction="higher_is_better", created_by=admin
        )
        for j in range(METRICS)
    )
    _, key = auth_token_create(actor=None, user=admin, name="memory benchmark")
    return key


def measure(label, port_pid, worker_pid, send, wait) -> tuple[float, float, float]:
    """Run one upload and its job; the web process's RSS before, its peak during the request
    and the worker's peak during the job (MiB)."""
    web_pid = port_pid
    _reset_peak(web_pid)
    _reset_peak(worker_pid)
    before = _status_kib(web_pid, "VmRSS") / 1024
    worker_before = _status_kib(worker_pid, "VmRSS") / 1024
    started = time.perf_counter()
    created = send()
    web_peak = _status_kib(web_pid, "VmHWM") / 1024
    sent = time.perf_counter() - started
    final = wait(created["id"])
    worker_peak = _status_kib(worker_pid, "VmHWM") / 1024
    print(
        f"{label}: upload answered in {sent:.1f} s, job done {time.perf_counter() - started:.1f} s "
        f"after the upload began ({final})"
    )
    print(
        f"  web process RSS {before:.0f} MiB before, peak {web_peak:.0f} MiB during the request "
        f"(+{web_peak - before:.0f} MiB); worker RSS {worker_before:.0f} MiB before, peak "
        f"{worker_peak:.0f} MiB"
    )
    return before, web_peak, worker_peak


def run(args) -> int:
    admin_url, bench_url = _database_urls()
    _recreate(admin_url)
    folder = Path(tempfile.mkdtemp(prefix="mlgov-bench-memory-"))
    media = folder / "media"
    web = worker = None
    try:
        metrics_path = folder / "metrics.csv"
        rows = write_metrics(metrics_path, rows=args.rows, megabytes=args.mb)
        size = metrics_path.stat().st_size
        drift_rows = args.drift_rows
        reference, current = folder / "reference.csv.gz", folder / "current.csv.gz"
        write_drift_sample(reference, rows=drift_rows, columns=args.drift_columns, shift=0, seed=1)
        write_drift_sample(current, rows=drift_rows, columns=args.drift_columns, shift=0.3, seed=2)
        print(
            f"metric file: {rows:,} rows, {size / MB:.0f} MB; drift samples: {drift_rows:,} rows "
            f"× {args.drift_columns} columns, {reference.stat().st_size / MB:.0f} + "
            f"{current.stat().st_size / MB:.0f} MB gzip-compressed"
        )
        key = setup(bench_url, media)
        from apps.monitoring.models import DriftRun, IngestionBatch
        from mlgov.celery import app

        queue = f"mlgov-bench-{uuid.uuid4().hex[:8]}"
        env = {
            **os.environ,
            "DATABASE_URL": bench_url,
            "DJANGO_MEDIA_ROOT": str(media),
            "MLGOV_INGEST_MAX_BYTES": str(size + MB),
            "DJANGO_ALLOWED_HOSTS": "localhost,127.0.0.1",
        }
        env.pop("CELERY_TASK_ALWAYS_EAGER", None)
        [worker] = start_solo_workers(queue, log_for=lambda _: folder / "worker.log", env=env)
        app.conf.task_default_queue = queue
        web, port, web_pid = start_web(env, folder, queue)
        idle_worker = _status_kib(worker.pid, "VmRSS") / 1024
        print(
            f"web process (gunicorn worker) pid {web_pid}; Celery worker idle {idle_worker:.0f} MiB"
        )

        results = {}
        results["metric file"] = measure(
            "metric file",
            web_pid,
            worker.pid,
            lambda: post_multipart(
                port, "/api/v1/ingestion/", key, {"model": MODEL}, {"file": metrics_path}
            ),
            lambda pk: wait_final(IngestionBatch, pk, ("succeeded", "partial", "failed"), 1800),
        )
        batch = IngestionBatch.objects.latest("pk")
        failures = []
        if batch.status != "succeeded" or batch.rows_loaded != rows:
            failures.append(
                f"batch {batch.pk}: {batch.status}, {batch.rows_loaded} rows: {batch.error}"
            )
        results["drift run"] = measure(
            "drift run",
            web_pid,
            worker.pid,
            lambda: post_multipart(
                port,
                "/api/v1/drift-runs/",
                key,
                {"model": MODEL, "version": VERSION},
                {"reference": reference, "current": current},
            ),
            lambda pk: wait_final(DriftRun, pk, ("succeeded", "failed"), 1800),
        )
        drift = DriftRun.objects.latest("pk")
        if drift.status != "succeeded":
            failures.append(f"drift run {drift.pk}: {drift.status}: {drift.error}")
        for label, (before, web_peak, worker_peak) in results.items():
            if web_peak - before > WEB_TARGET_MB:
                failures.append(
                    f"{label}: web +{web_peak - before:.0f} MiB is above the target of "
                    f"{WEB_TARGET_MB} MB"
                )
            if worker_peak > WORKER_TARGET_MB:
                failures.append(
                    f"{label}: worker peak {worker_peak:.0f} MiB is above the target of "
                    f"{WORKER_TARGET_MB} MB"
                )
        print(
            f"targets: web process +≤ {WEB_TARGET_MB} MB per upload, worker ≤ {WORKER_TARGET_MB} "
            "MB peak, every job done: " + ("met" if not failures else "MISSED")
        )
        for failure in failures:
            print(f"  {failure}")
        return 1 if failures else 0
    finally:
        stop([web, worker])
        if "django" in sys.modules:
            from django.db import connections

            connections.close_all()
        _recreate(admin_url, drop_only=True)
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=int, default=200, help="Size of the metric file (MB).")
    parser.add_argument("--rows", type=int, default=None, help="Rows of the metric file instead.")
    parser.add_argument("--drift-rows", type=int, default=2_000_000)
    parser.add_argument("--drift-columns", type=int, default=12)
    sys.exit(run(parser.parse_args()))


if __name__ == "__main__":
    main()
