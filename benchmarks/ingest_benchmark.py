"""Ingestion benchmark: 1,000,000 rows end to end against a bare psycopg COPY of the same file.

Generates a CSV in the canonical format (100 models × 10 metrics × 1,000 hourly timestamps),
creates a throwaway PostgreSQL database (``mlgov_bench`` on the server of ``DATABASE_URL``),
migrates it and registers the models, versions and metrics the file names. Then, from the same
run:

- the floor: a bare ``COPY ... FROM STDIN (FORMAT csv)`` of the file through psycopg into an
  unindexed table of the same six typed columns;
- mlgov: ``ingestion_batch_run`` on a batch of the file — read, parse, validate, load into
  ``monitoring_observation`` (with its unique B-tree and BRIN indexes) and
  evaluate the 1,000 active thresholds (one per model and metric) — the work of the Celery task.

Prints both times (best of ``--repeat``), mlgov's stage breakdown, the ratio and the floor
(1.5×); exits non-zero when the ratio is above the floor. For reference it also times what
the server alone needs to take the rows into the store: the loader's own binary COPY stream,
built before the clock starts, into ``monitoring_observation`` with its indexes, and into an
unindexed table of the same columns. That is the lower bound of any loader into this store.
The database is dropped at the end.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python benchmarks/ingest_benchmark.py [--rows-per-series 1000] [--repeat 2]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import numpy as np
import pandas as pd
import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FLOOR = 1.5
MODELS, METRICS = 100, 10
BENCH_DB = os.environ.get("MLGOV_BENCH_DB", "mlgov_bench")


def _database_urls() -> tuple[str, str]:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        sys.exit("Set DATABASE_URL to a PostgreSQL server (the benchmark creates mlgov_bench).")
    parts = urlsplit(url)
    admin = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    bench = urlunsplit(parts._replace(path=f"/{BENCH_DB}"))
    return admin, bench


def _recreate(admin_url: str, *, drop_only: bool = False) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        if not drop_only:
            conn.execute(f"CREATE DATABASE {BENCH_DB}")


def make_csv(path: Path, per_series: int) -> int:
    """100 models × 10 metrics × ``per_series`` hourly timestamps, model-major order."""
    n = MODELS * METRICS * per_series
    model = np.repeat(np.arange(MODELS), METRICS * per_series)
    metric = np.tile(np.repeat(np.arange(METRICS), per_series), MODELS)
    step = np.tile(np.arange(per_series), MODELS * METRICS)
    times = pd.date_range("2024-01-01", periods=per_series, freq="h", tz="UTC")
    frame = pd.DataFrame(
        {
            "model": np.char.add("bench-model-", np.char.zfill(model.astype(str), 3)),
            "version": "1.0.0",
            "metric": np.char.add("bench.metric", np.char.zfill(metric.astype(str), 2)),
            "value": np.random.default_rng(7).random(n).round(6),
            "timestamp": np.asarray(times.strftime("%Y-%m-%dT%H:%M:%SZ"))[step],
            "segment": "",
        }
    )
    frame.to_csv(path, index=False)
    return n


#: For reference only: the indexes of monitoring_observation, on the file's own columns.
OBSERVATION_LIKE_INDEXES = (
    "ALTER TABLE bench_bare ADD PRIMARY KEY (model, version, metric, timestamp, segment)",
    "CREATE INDEX ON bench_bare USING brin (timestamp)",
)


def bare_copy(url: str, path: Path, *, indexed: bool = False) -> tuple[float, int]:
    """Seconds to COPY the file into an unindexed table of the same typed columns (or, for
    reference, into one indexed like the observation store)."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_bare")
        conn.execute(
            "CREATE TABLE bench_bare (model text, version text, metric text, "
            "value double precision, timestamp timestamptz, segment text)"
        )
        for statement in OBSERVATION_LIKE_INDEXES if indexed else ():
            conn.execute(statement)
        conn.execute("CHECKPOINT")
        started = time.perf_counter()
        columns = "model, version, metric, value, timestamp, segment"
        # An empty segment is the empty string, as in the store (a primary key column).
        options = "FORMAT csv, HEADER true" + (", FORCE_NOT_NULL (segment)" if indexed else "")
        sql = f"COPY bench_bare ({columns}) FROM STDIN WITH ({options})"
        with (
            path.open("rb") as handle,
            conn.transaction(),
            conn.cursor() as cur,
            cur.copy(sql) as copy,
        ):
            while chunk := handle.read(1 << 20):
                copy.write(chunk)
        elapsed = time.perf_counter() - started
        rows = conn.execute("SELECT count(*) FROM bench_bare").fetchone()[0]
        conn.execute("DROP TABLE bench_bare")
    return elapsed, rows


def setup_django(bench_url: str) -> None:
    os.environ["DATABASE_URL"] = bench_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mlgov.settings")
    os.environ.setdefault("DJANGO_SECRET_KEY", "benchmark")
    if not os.environ.get("MLGOV_SIGNING_KEY_FILE"):
        # A throwaway signing key (required with DATABASE_URL): benchmark reports are never filed.
        from apps.core.signing import generate_private_key_pem

        os.environ.setdefault("MLGOV_SIGNING_KEY", generate_private_key_pem())
    os.environ.setdefault("DJANGO_MEDIA_ROOT", str(ROOT / "var" / "bench-media"))
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "true"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def register_catalogue():
    """The admin who sends the batch, and the models, versions and metrics the file names."""
    from django.contrib.auth.models import Group

    from apps.accounts.models import User
    from apps.core import roles
    from apps.inventory.models import BusinessUnit, ModelVersion, RegisteredModel
    from apps.monitoring.models import MetricDefinition

    admin = User.objects.create(username="bench-admin", is_staff=True)
    admin.groups.add(Group.objects.get_or_create(name=roles.ADMIN)[0])
    unit = BusinessUnit.objects.create(name="Benchmarks", code="bench")
    models = RegisteredModel.objects.bulk_create(
        RegisteredModel(
            slug=f"bench-model-{i:03d}",
            name=f"Bench model {i:03d}",
            purpose="Benchmark.",
            business_unit=unit,
            owner=admin,
            business_owner=admin,
            created_by=admin,
        )
        for i in range(MODELS)
    )
    ModelVersion.objects.bulk_create(
        ModelVersion(
            model=m,
            version="1.0.0",
            artifact_uri=f"s3://bench/{m.slug}",
            artifact_sha256="0" * 64,
            created_by=admin,
        )
        for m in models
    )
    metrics = MetricDefinition.objects.bulk_create(
        MetricDefinition(
            name=f"bench.metric{j:02d}", direction="higher_is_better", created_by=admin
        )
        for j in range(METRICS)
    )
    activate_thresholds(admin, models, metrics)
    return admin


def activate_thresholds(admin, models, metrics) -> None:
    """One active threshold per model and metric (1,000): half on the latest value, half on a
    7-day mean, with bounds that some series cross, so evaluation does real work."""
    import datetime as dt

    from django.utils import timezone

    from apps.monitoring.choices import BreachDirection, Evaluation, ThresholdStatus
    from apps.monitoring.models import Threshold

    now = timezone.now()
    Threshold.objects.bulk_create(
        Threshold(
            model=m,
            metric=metric,
            direction=BreachDirection.BELOW,
            warning_bound=0.2,
            critical_bound=0.1,
            evaluation=Evaluation.LATEST if j % 2 else Evaluation.MEAN,
            window_days=None if j % 2 else 7,
            rationale="Benchmark.",
            review_by=(now + dt.timedelta(days=365)).date(),
            status=ThresholdStatus.ACTIVE,
            activated_at=now,
            created_by=admin,
        )
        for m in models
        for j, metric in enumerate(metrics)
    )


class Stopwatch:
    """Wall time of each stage of a batch, by wrapping the functions the service calls."""

    def __init__(self):
        self.times: dict[str, float] = {}
        self.wrapped: list[tuple[object, str, object]] = []

    def restore(self) -> None:
        for owner, name, real in self.wrapped:
            setattr(owner, name, real)

    def wrap(self, owner, name: str, label: str) -> None:
        real = getattr(owner, name)
        self.wrapped.append((owner, name, real))

        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return real(*args, **kwargs)
            finally:
                self.times[label] = self.times.get(label, 0.0) + time.perf_counter() - started

        setattr(owner, name, timed)


@contextmanager
def no_enqueue():
    """The benchmark runs the task body itself, timed, instead of enqueueing it."""
    from apps.monitoring.ingestion import services

    real = services._enqueue
    services._enqueue = lambda batch: None
    try:
        yield
    finally:
        services._enqueue = real


def ingest(admin, path: Path, frames: list | None = None) -> tuple[float, dict[str, float], object]:
    from django.db import connection

    from apps.monitoring.choices import IngestionSource
    from apps.monitoring.evaluation import services as evaluation
    from apps.monitoring.ingestion import loader, services, validate
    from apps.monitoring.models import IngestionBatch, Observation

    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {Observation._meta.db_table}")
        # The series and rollups the loader keeps beside the rows go with them.
        cursor.execute("TRUNCATE monitoring_observationseries, monitoring_observationrollup")
        cursor.execute("CHECKPOINT")
    IngestionBatch.objects.all().delete()
    with no_enqueue(), path.open("rb") as handle:
        batch, _ = services.ingestion_batch_create(
            user=admin, source=IngestionSource.COMMAND, data=handle, file_name=path.name
        )
    watch = Stopwatch()
    if frames is not None:  # keep the validated frames (for the server-only reference)
        frames.clear()
        keep = loader.StreamLoad.add

        def kept(self, frame, rows):
            frames.append(frame)
            return keep(self, frame, rows)

        loader.StreamLoad.add = kept
    # The file streams chunk by chunk: "read + parse" is the rest of the run's time.
    watch.wrap(validate, "validate", "validate")
    watch.wrap(loader.StreamLoad, "add", "load (COPY)")
    # Inside the load: the series table and hourly/daily rollups kept beside the rows.
    watch.wrap(loader, "record_loaded", "  of which series + rollups")
    watch.wrap(evaluation, "evaluate_batch", "evaluate")
    try:
        started = time.perf_counter()
        batch = services.ingestion_batch_run(batch_id=batch.pk)
        elapsed = time.perf_counter() - started
    finally:
        watch.restore()
        if frames is not None:
            loader.StreamLoad.add = keep
    stages = [t for label, t in watch.times.items() if not label.startswith("  of which")]
    watch.times["read + parse"] = elapsed - sum(stages)
    return elapsed, watch.times, batch


def server_copy(url: str, frame, batch_id: int) -> tuple[float, float]:
    """Seconds for the server alone to take the validated rows: the loader's binary COPY
    stream, built before the clock starts, into the store (with its indexes, emptied first)
    and into an unindexed table of the same columns."""
    from apps.monitoring.ingestion.binary import copy_chunks, key_ordered
    from apps.monitoring.models import Observation

    stream = b"".join(copy_chunks(key_ordered(frame), batch_id))
    table = Observation._meta.db_table
    columns = "version_id, metric_id, segment, timestamp, value, batch_id"
    times = []
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_store_unindexed")
        conn.execute(
            "CREATE TABLE bench_store_unindexed (version_id bigint NOT NULL, metric_id bigint "
            "NOT NULL, segment varchar(100) NOT NULL, timestamp timestamptz NOT NULL, "
            "value double precision NOT NULL, batch_id bigint NOT NULL)"
        )
        for target in (table, "bench_store_unindexed"):
            conn.execute(f"TRUNCATE {target}")
            conn.execute("CHECKPOINT")
            started = time.perf_counter()
            sql = f"COPY {target} ({columns}) FROM STDIN WITH (FORMAT binary)"
            with conn.transaction(), conn.cursor() as cur, cur.copy(sql) as copy:
                view = memoryview(stream)
                for offset in range(0, len(view), 1 << 20):
                    copy.write(view[offset : offset + (1 << 20)])
            times.append(time.perf_counter() - started)
        conn.execute("DROP TABLE bench_store_unindexed")
    return times[0], times[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows-per-series", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=2, help="Best of this many runs.")
    args = parser.parse_args()
    admin_url, bench_url = _database_urls()
    _recreate(admin_url)
    try:
        work = ROOT / "var" / "bench-ingest"
        work.mkdir(parents=True, exist_ok=True)
        path = work / "metrics.csv"
        print("Generating the CSV…", flush=True)
        n = make_csv(path, args.rows_per_series)
        print(f"{n:,} rows, {path.stat().st_size / 1e6:.1f} MB; migrating {BENCH_DB}…", flush=True)
        setup_django(bench_url)
        admin = register_catalogue()
        from django.db import connection

        psycopg_url = bench_url.replace("postgres://", "postgresql://", 1)
        bare_runs, ingest_runs, frames = [], [], []
        for attempt in range(args.repeat):
            bare, rows = bare_copy(psycopg_url, path)
            assert rows == n, rows
            bare_runs.append(bare)
            elapsed, stages, batch = ingest(admin, path, frames)
            if batch.status != "succeeded" or batch.rows_loaded != n:
                print(f"The batch did not load: {batch.status} {batch.error}", file=sys.stderr)
                return 2
            ingest_runs.append((elapsed, stages))
            print(f"run {attempt + 1}: bare COPY {bare:.2f} s, mlgov {elapsed:.2f} s", flush=True)
        indexed, _ = bare_copy(psycopg_url, path, indexed=True)
        connection.close()
        frame = pd.concat(frames, ignore_index=True)  # the validated chunks of the last run
        server = [server_copy(psycopg_url, frame, batch.pk) for _ in range(args.repeat)]
        into_store = min(s for s, _ in server)
        into_unindexed = min(u for _, u in server)
        bare = min(bare_runs)
        elapsed, stages = min(ingest_runs, key=lambda r: r[0])
        ratio = elapsed / bare
        print()
        print(f"Bare psycopg COPY into an unindexed table: {bare:6.2f} s")
        print(f"mlgov ingestion end to end:                {elapsed:6.2f} s")
        for label, seconds in stages.items():
            print(f"    {label:28} {seconds:6.2f} s")
        print(
            f"(reference: the same COPY into a table indexed like the observation store: "
            f"{indexed:.2f} s, {indexed / bare:.2f}× the bare COPY)"
        )
        print(
            f"(reference: the loader's binary rows, built before the clock starts, COPYed into "
            f"an unindexed table of the store's columns: {into_unindexed:.2f} s; into "
            f"monitoring_observation with its indexes: {into_store:.2f} s, "
            f"{into_store / bare:.2f}× the bare COPY)"
        )
        bound = into_store + stages.get("evaluate", 0.0)
        print(
            f"(lower bound for any loader into this store: that COPY plus this run's evaluation, "
            f"{bound:.2f} s, {bound / bare:.2f}× the bare COPY)"
        )
        verdict = "met" if ratio <= FLOOR else "MISSED"
        print(f"Ratio {ratio:.2f}× (floor: at most {FLOOR}×) — {verdict}")
        return 0 if ratio <= FLOOR else 1
    finally:
        _recreate(admin_url, drop_only=True)


if __name__ == "__main__":
    sys.exit(main())
