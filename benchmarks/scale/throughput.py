"""Report throughput with one and with two Celery worker processes.

Model-card PDFs asked for through the report service (``report_request``, as the API does:
queued on commit through the job outbox) and rendered by real Celery workers (solo pool, one
process each, on a private queue of ``REDIS_URL``), as ``benchmarks/report_worker_benchmark.py``
does for one worker. The cards are rendered in a throwaway PostgreSQL database
(``mlgov_throughput`` on the scale database's server, dropped at the end): migrated and seeded
with the demo (``seed_demo``), or, with ``--throughput-template DB``, a copy of DB (a writable
copy of the scale database; never the shared one, which the benchmark only reads).

Runs ``--throughput-cards`` cards round-robin over the models with one worker process, then as
many with two worker processes on the same queue, and prints cards per minute for each, the
ratio two/one, and each worker's peak resident memory. The Django work runs in a subprocess of
this module (``--inner``), so the harness itself never loads Django.

    .venv/bin/python -m benchmarks.scale.throughput [--throughput-cards 40]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

from benchmarks.celery_workers import start_solo_workers, stop
from benchmarks.scale.common import ROOT, Figure, part_main

SECTION = "Report throughput: model-card PDFs through Celery workers"
THROWAWAY_DB = "mlgov_throughput"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("Report throughput (benchmarks/scale/throughput.py)")
    group.add_argument(
        "--throughput-cards", type=int, default=40, help="Cards per run (one run per worker count)."
    )
    group.add_argument(
        "--throughput-workers",
        default="1,2",
        help="Worker process counts to compare (default 1,2).",
    )
    group.add_argument(
        "--throughput-template",
        default=None,
        help="Copy this database instead of seeding the demo (never the shared scale database "
        "while others use it: nobody may be connected to a template while it is copied).",
    )


# --- the harness's side: a throwaway database and a subprocess -------------------------------


def _url(database_url: str, name: str, scheme: str | None = None) -> str:
    parts = urlsplit(database_url)
    return urlunsplit(parts._replace(scheme=scheme or parts.scheme, path=f"/{name}"))


def run(args, *, database_url: str, base_url: str) -> list[Figure]:
    admin = _url(database_url, "postgres", "postgresql")
    template = getattr(args, "throughput_template", None)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {THROWAWAY_DB} WITH (FORCE)")
        conn.execute(
            f'CREATE DATABASE {THROWAWAY_DB} TEMPLATE "{template}"'
            if template
            else f"CREATE DATABASE {THROWAWAY_DB}"
        )
    try:
        cmd = [
            sys.executable,
            "-m",
            "benchmarks.scale.throughput",
            "--inner",
            "--database-url",
            _url(database_url, THROWAWAY_DB),
            "--throughput-cards",
            str(10 if getattr(args, "quick", False) else getattr(args, "throughput_cards", 40)),
            "--throughput-workers",
            str(getattr(args, "throughput_workers", "1,2")),
        ]
        if not template:
            cmd.append("--seed")
        env = {**os.environ, "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/7")}
        done = subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True, check=True)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {THROWAWAY_DB} WITH (FORCE)")
    results = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    return figures_of(results)


def figures_of(results: list[dict]) -> list[Figure]:
    figures = []
    by_workers = {r["workers"]: r for r in results}
    for r in results:
        figures.append(
            Figure(
                SECTION,
                f"{r['workers']} worker process(es): cards per minute",
                r["cards_per_minute"],
                "cards",
                detail=(
                    f"{r['cards']} cards in {r['wall']:.1f} s; job median {r['job_median']:.2f} s,"
                    f" max {r['job_max']:.2f} s; failed {r['failed']}; peak RSS "
                    + ", ".join(f"{mib:.0f}" for mib in r["peak_rss_mib"])
                    + " MiB"
                ),
            )
        )
        figures.append(
            Figure(SECTION, f"{r['workers']} worker process(es): cards failed", r["failed"], "", 0)
        )
    if 1 in by_workers and 2 in by_workers:
        ratio = by_workers[2]["cards_per_minute"] / by_workers[1]["cards_per_minute"]
        figures.append(
            Figure(
                SECTION,
                "two worker processes / one (cards per minute)",
                ratio,
                "×",
                detail=f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}",
            )
        )
    return figures


# --- the subprocess: Django, the workers and the cards ---------------------------------------


def _setup(database_url: str, media: Path, *, seed: bool) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ["DJANGO_MEDIA_ROOT"] = str(media)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mlgov.settings")
    os.environ.setdefault("DJANGO_SECRET_KEY", "benchmark")
    os.environ.pop("CELERY_TASK_ALWAYS_EAGER", None)
    if not os.environ.get("MLGOV_SIGNING_KEY_FILE"):
        # A throwaway signing key: benchmark reports are never filed.
        from apps.core.signing import generate_private_key_pem

        os.environ.setdefault("MLGOV_SIGNING_KEY", generate_private_key_pem())
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    if seed:
        with open(os.devnull, "w") as quiet:
            call_command("seed_demo", stdout=quiet)


def _peak_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _one_run(workers: int, cards: int, media: Path) -> dict:
    from apps.accounts.models import User
    from apps.core import roles
    from apps.inventory.models import RegisteredModel
    from apps.reports import services
    from apps.reports.models import Report
    from mlgov.celery import app

    models = list(RegisteredModel.objects.order_by("slug")[:200])
    auditor = User.objects.filter(groups__name=roles.AUDITOR, is_active=True).order_by("pk").first()
    queue = f"mlgov-bench-throughput-{uuid.uuid4().hex[:8]}"
    procs = start_solo_workers(
        queue,
        count=workers,
        log_for=lambda n: media / f"worker-{workers}-{n}.log",
        timeout=90,
    )
    app.conf.task_default_queue = queue
    try:
        started = time.perf_counter()
        ids = [
            services.report_request(
                user=auditor, kind="model_card", fmt="pdf", model=models[n % len(models)]
            ).pk
            for n in range(cards)
        ]
        deadline = time.monotonic() + cards * 60
        while time.monotonic() < deadline:
            finals = Report.objects.filter(pk__in=ids, status__in=("done", "failed")).count()
            if finals == len(ids):
                break
            time.sleep(0.1)
        else:
            raise RuntimeError(f"only {finals} of {cards} cards finished in time")
        wall = time.perf_counter() - started
        peaks = [_peak_mib(proc.pid) for proc in procs]
    finally:
        stop(procs)
    reports = list(Report.objects.filter(pk__in=ids))
    jobs = sorted(
        (r.finished_at - r.started_at).total_seconds()
        for r in reports
        if r.finished_at and r.started_at
    )
    return {
        "workers": workers,
        "cards": cards,
        "wall": wall,
        "cards_per_minute": cards / wall * 60,
        "failed": sum(r.status != "done" for r in reports),
        "job_median": statistics.median(jobs) if jobs else float("nan"),
        "job_max": jobs[-1] if jobs else float("nan"),
        "peak_rss_mib": peaks,
    }


def inner(args) -> int:
    media = Path(tempfile.mkdtemp(prefix="mlgov-bench-throughput-"))
    try:
        _setup(args.database_url, media, seed=args.seed)
        for count in (int(n) for n in args.throughput_workers.split(",")):
            result = _one_run(count, args.throughput_cards, media)
            print(json.dumps(result), flush=True)
    finally:
        shutil.rmtree(media, ignore_errors=True)
    return 0


def main() -> int:
    return part_main(
        __doc__.split("\n\n")[0],
        add_arguments=add_arguments,
        run=run,
        inner=inner,
        hidden_flags=("--seed",),
    )


if __name__ == "__main__":
    sys.exit(main())
