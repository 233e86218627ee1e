"""100 model-card PDFs through a real Celery worker, with the worker's peak memory.

Creates a throwaway PostgreSQL database (``mlgov_bench_reports`` on the server of
``DATABASE_URL``, dropped at the end), migrates it and seeds the demo data (``seed_demo``:
about a dozen models with versions, signed thresholds, 90 days of metrics, drift runs,
approvals, incidents and their audit trail). Starts one Celery worker (solo pool, one process,
as ``make worker`` runs it but on a private queue) on that database and ``REDIS_URL``, then asks
for ``--cards`` model-card PDFs through the report service (``report_request``, as the API
does: queued on commit), round-robin over the demo models, and waits until every report is
final. Prints:

- the wall time from the first request to the last finished report, the throughput (cards
  per minute) and the mean seconds per card;
- each job's own time (``finished_at - started_at``): median, 95th percentile, maximum;
- the worker's resident memory: idle, after the first card, at the end, and its peak
  (``VmHWM`` from ``/proc/<pid>/status``, the kernel's high-water mark of the process).

Floors: every report done; mean wall time per card at most ``--max-seconds`` (default 1.5 s:
the ≤ 1 s card plus the job's own overhead); worker peak RSS at most ``--max-rss-mib``
(default 1024). Exits non-zero when a floor is missed.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python benchmarks/report_worker_benchmark.py [--cards 100]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.celery_workers import start_solo_workers, stop  # noqa: E402

BENCH_DB = "mlgov_bench_reports"
MAX_SECONDS_PER_CARD = 1.5
MAX_RSS_MIB = 1024


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


def setup_django(bench_url: str, media: Path) -> float:
    """Point this process at the bench database, migrate and seed it; seconds spent seeding."""
    os.environ["DATABASE_URL"] = bench_url
    os.environ["DJANGO_MEDIA_ROOT"] = str(media)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mlgov.settings")
    os.environ.setdefault("DJANGO_SECRET_KEY", "benchmark")
    if not os.environ.get("MLGOV_SIGNING_KEY_FILE"):
        # A throwaway signing key (required with DATABASE_URL): benchmark reports are never filed.
        from apps.core.signing import generate_private_key_pem

        os.environ.setdefault("MLGOV_SIGNING_KEY", generate_private_key_pem())
    os.environ.pop("CELERY_TASK_ALWAYS_EAGER", None)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    with open(os.devnull, "w") as quiet:
        call_command("seed_demo", stdout=quiet)
    return time.perf_counter() - started


def _status_kib(pid: int, field: str) -> int:
    """A ``/proc/<pid>/status`` memory figure in KiB (VmRSS now, VmHWM the peak)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not found for process {pid}")


def wait_all(ids: list[int], *, timeout: float, on_first=None) -> None:
    from apps.reports.models import Report

    deadline = time.monotonic() + timeout
    first_seen = False
    while time.monotonic() < deadline:
        finals = Report.objects.filter(pk__in=ids, status__in=("done", "failed")).count()
        if not first_seen and finals and on_first is not None:
            first_seen = True
            on_first()
        if finals == len(ids):
            return
        time.sleep(0.1)
    raise RuntimeError(f"only {finals} of {len(ids)} reports finished within {timeout:.0f} s")


def run(cards: int, max_seconds: float, max_rss_mib: int) -> int:
    admin_url, bench_url = _database_urls()
    _recreate(admin_url)
    media = Path(tempfile.mkdtemp(prefix="mlgov-bench-reports-"))
    worker = None
    try:
        seeded = setup_django(bench_url, media)
        from apps.accounts.models import User
        from apps.core import roles
        from apps.inventory.models import RegisteredModel
        from apps.reports import services
        from apps.reports.models import Report
        from mlgov.celery import app

        models = list(RegisteredModel.objects.order_by("slug"))
        auditor = User.objects.filter(groups__name=roles.AUDITOR).order_by("pk").first()
        print(f"database {BENCH_DB}: demo data seeded in {seeded:.1f} s ({len(models)} models)")

        queue = f"mlgov-bench-{uuid.uuid4().hex[:8]}"
        env = {
            **os.environ,
            "DATABASE_URL": bench_url,
            "DJANGO_MEDIA_ROOT": str(media),
            "MLGOV_BENCH_WORKER_LOG": str(media / "worker.log"),
        }
        [worker] = start_solo_workers(
            queue, log_for=lambda _: Path(env["MLGOV_BENCH_WORKER_LOG"]), env=env
        )
        app.conf.task_default_queue = queue
        app.conf.task_always_eager = False
        idle_kib = _status_kib(worker.pid, "VmRSS")
        after_first: dict[str, int] = {}

        started = time.perf_counter()
        ids = []
        for n in range(cards):
            report = services.report_request(
                user=auditor, kind="model_card", fmt="pdf", model=models[n % len(models)]
            )
            ids.append(report.pk)
        wait_all(
            ids,
            timeout=cards * 30,
            on_first=lambda: after_first.setdefault("kib", _status_kib(worker.pid, "VmRSS")),
        )
        wall = time.perf_counter() - started
        end_kib = _status_kib(worker.pid, "VmRSS")
        peak_kib = _status_kib(worker.pid, "VmHWM")

        reports = list(Report.objects.filter(pk__in=ids))
        failed = [r for r in reports if r.status != "done"]
        jobs = sorted((r.finished_at - r.started_at).total_seconds() for r in reports)
        sizes = [r.size or 0 for r in reports]
        per_card = wall / cards
        print(
            f"{cards} model-card PDFs through one worker (solo pool): {wall:.1f} s wall, "
            f"{cards / wall * 60:.1f} cards/min, {per_card:.2f} s per card"
        )
        print(
            f"  job time per card: median {statistics.median(jobs):.2f} s, "
            f"p95 {jobs[int(0.95 * (len(jobs) - 1))]:.2f} s, max {jobs[-1]:.2f} s; "
            f"PDF size median {statistics.median(sizes) / 1024:.0f} KiB"
        )
        print(
            f"  worker RSS: idle {idle_kib / 1024:.0f} MiB, after the first card "
            f"{after_first.get('kib', 0) / 1024:.0f} MiB, at the end {end_kib / 1024:.0f} MiB, "
            f"peak (VmHWM) {peak_kib / 1024:.0f} MiB"
        )
        problems = []
        if failed:
            problems.append(f"{len(failed)} report(s) failed, e.g. {failed[0].error}")
        if per_card > max_seconds:
            problems.append(f"{per_card:.2f} s per card is above the floor of {max_seconds} s")
        if peak_kib / 1024 > max_rss_mib:
            problems.append(
                f"peak RSS {peak_kib / 1024:.0f} MiB is above the floor of {max_rss_mib} MiB"
            )
        print(
            f"floors: every card done, ≤ {max_seconds} s per card, peak RSS ≤ {max_rss_mib} MiB: "
            + ("met" if not problems else "MISSED")
        )
        for problem in problems:
            print(f"  {problem}")
        return 1 if problems else 0
    finally:
        stop([worker])
        from django.db import connections

        connections.close_all()
        _recreate(admin_url, drop_only=True)
        shutil.rmtree(media, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cards", type=int, default=100)
    parser.add_argument("--max-seconds", type=float, default=MAX_SECONDS_PER_CARD)
    parser.add_argument("--max-rss-mib", type=int, default=MAX_RSS_MIB)
    args = parser.parse_args()
    sys.exit(run(args.cards, args.max_seconds, args.max_rss_mib))


if __name__ == "__main__":
    main()
