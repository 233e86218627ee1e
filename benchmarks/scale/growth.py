"""Growth curves: what a piece of work costs as the history behind it grows.

Each curve times one piece of work at a few sizes of the history it reads, and prints the time
at each size, the ratio of the time at the largest size to the time at the smallest and a
verdict, "flat" when that ratio is at most ``FLAT_RATIO`` (across a size range of 50–1000×),
else "grows". Where the output does not grow with the size (the same window evaluated, the
same card pages, the same extract, the same dashboard), "grows" misses the target: nothing may
grow with the total history when its output does not.

- **threshold evaluation**: ``evaluate_batch`` of a batch touching one series with an active
  threshold, the series holding 10k, 100k and 1M points (the new ones older than the window,
  so the evaluated value is the same);
- **model-card PDF**: a model with 10 and with 500 versions; and a model before and after
  10,000 audit events about it (snapshot, HTML and PDF, as the report job renders it);
- **audit extract**: the CSV extract of a fixed week as the trail grows (10k, 100k, 1M events);
- **``verify_audit_log``**: the whole chain at 10k, 100k and 1M events (this one reads every
  event, so it grows by design: printed for reference); and, when the command offers an
  incremental run from the last verified checkpoint, that run after 1,000 new events at each
  size, which should cost the new events only;
- **the dashboard**: ``validator``'s home page (time and queries) with 12, 1,000 and 10,000
  registered models.

The data lives in a throwaway database (``mlgov_growth`` on the server of ``--database-url``,
migrated, seeded with the demo and grown with bulk additions: observations and models by SQL,
audit events through the generator's bulk chain append, so the chain stays valid), dropped at
the end. The Django work runs in a subprocess of this module (``--inner``).

    .venv/bin/python -m benchmarks.scale.growth               # the sizes above
    .venv/bin/python -m benchmarks.scale.growth --growth-small  # 10× smaller, a quick check
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
from dataclasses import asdict
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

from benchmarks.scale.common import ROOT, Figure, part_main

SECTION = "Growth curves: cost against the size of the history"
THROWAWAY_DB = "mlgov_growth"
#: A curve is flat when its largest size costs at most this many times its smallest.
FLAT_RATIO = 2.0
REPEAT = 5


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("Growth curves (benchmarks/scale/growth.py)")
    group.add_argument(
        "--growth-small",
        action="store_true",
        help="Sizes 10× smaller (1k–100k points and events, 500 models, 50 versions).",
    )
    group.add_argument(
        "--growth-curves",
        default="evaluation,card,audit,dashboard",
        help="Which curves (default: evaluation,card,audit,dashboard).",
    )


def _url(database_url: str, name: str, scheme: str | None = None) -> str:
    parts = urlsplit(database_url)
    return urlunsplit(parts._replace(scheme=scheme or parts.scheme, path=f"/{name}"))


def run(args, *, database_url: str, base_url: str) -> list[Figure]:
    admin = _url(database_url, "postgres", "postgresql")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {THROWAWAY_DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {THROWAWAY_DB}")
    try:
        cmd = [
            sys.executable,
            "-m",
            "benchmarks.scale.growth",
            "--inner",
            "--database-url",
            _url(database_url, THROWAWAY_DB),
            "--growth-curves",
            getattr(args, "growth_curves", "evaluation,card,audit,dashboard"),
        ]
        if getattr(args, "growth_small", False) or getattr(args, "quick", False):
            cmd.append("--growth-small")
        env = {**os.environ, "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/7")}
        done = subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True, check=True)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {THROWAWAY_DB} WITH (FORCE)")
    return [Figure(**json.loads(line)) for line in done.stdout.splitlines() if line.startswith("{")]


# --- the subprocess --------------------------------------------------------------------------


def _emit(figure: Figure) -> None:
    print(json.dumps(asdict(figure)), flush=True)


def _say(text: str) -> None:
    print(f"  growth: {text}", file=sys.stderr, flush=True)


def _median_ms(call, repeat: int = REPEAT, warmup: int = 1) -> float:
    for _ in range(warmup):
        call()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def _curve(name: str, unit_of_size: str, points: list[tuple[int, float]], *, flat: bool) -> None:
    """Emit one figure per size and the curve's verdict (targeted when its output is flat)."""
    for size, ms in points:
        _emit(Figure(SECTION, f"{name}: {size:,} {unit_of_size}", ms, "ms"))
    (small, first), (large, last) = points[0], points[-1]
    ratio = last / first
    verdict = "flat" if ratio <= FLAT_RATIO else "grows"
    _emit(
        Figure(
            SECTION,
            f"{name}: {large:,} / {small:,} {unit_of_size} ({verdict})",
            ratio,
            "×",
            FLAT_RATIO if flat else None,
            detail=f"sizes ×{large / small:g}; {verdict}"
            + ("" if flat else "; reads all it is given, for reference"),
        )
    )


def _setup(database_url: str, media: Path) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ["DJANGO_MEDIA_ROOT"] = str(media)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mlgov.settings")
    os.environ.setdefault("DJANGO_SECRET_KEY", "benchmark")
    os.environ["DJANGO_DEBUG"] = "0"
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "1"  # background work here runs in this process
    os.environ["MLGOV_AUDIT_CHECKPOINT_PATH"] = str(media / "checkpoints.jsonl")
    os.environ["DJANGO_STATIC_ROOT"] = str(media / "static")  # DEBUG off: collected files
    if not os.environ.get("MLGOV_SIGNING_KEY_FILE"):
        from apps.core.signing import generate_private_key_pem

        os.environ.setdefault("MLGOV_SIGNING_KEY", generate_private_key_pem())
    import django

    django.setup()
    from django.core.management import call_command

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    with open(os.devnull, "w") as quiet:
        call_command("seed_demo", stdout=quiet)
    _say(f"database migrated and seeded in {time.perf_counter() - started:.0f} s")


def _card_ms(model) -> float:
    from apps.reports.cards import card_pdf
    from apps.reports.choices import GENERATOR
    from apps.reports.snapshot import model_snapshot, snapshot_sha256

    def card():
        snapshot = model_snapshot(model=model)
        meta = {
            "generated_at": "2026-01-01T00:00:00Z",
            "generated_by": {"username": "system", "name": "system"},
            "generator": GENERATOR,
            "snapshot_sha256": snapshot_sha256(snapshot),
            "audit_chain_head": snapshot["audit_chain_head"],
            "as_of": snapshot["as_of"],
            "report_id": None,
        }
        return card_pdf(snapshot, meta)

    return _median_ms(card, repeat=3)


AUDIT_COLUMNS = (
    "sequence",
    "occurred_at",
    "actor_id",
    "actor_username",
    "action",
    "object_type",
    "object_id",
    "object_repr",
    "model_ref",
    "changes",
    "message",
    "request_id",
    "client_ip",
    "prev_hash",
    "hash",
)


def _append_events(count: int, *, model_ref: int | None = None) -> None:
    """``count`` events appended to the chain in one pass, hashed as ``audit_record`` hashes
    one (``apps.audit.chain.compute_hash``, each linked to the one before), then the head moved
    once. The row triggers (the head check per insert, the foreign keys) are skipped for this
    transaction in this throwaway database only; ``verify_audit_log`` re-checks every hash."""
    from django.db import connection, transaction

    from apps.audit.chain import compute_hash, normalise
    from apps.audit.models import AuditChainHead, AuditEvent

    table = AuditEvent._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        head = AuditChainHead.objects.select_for_update().get(pk=1)
        sequence, prev_hash = head.sequence, head.hash
        latest = AuditEvent.objects.filter(sequence=sequence).values_list("occurred_at", flat=True)
        start = latest.first()
        cursor.execute("SET LOCAL session_replication_role = replica")
        sql = f"COPY {table} ({', '.join(AUDIT_COLUMNS)}) FROM STDIN"
        with cursor.cursor.copy(sql) as copy:
            for i in range(count):
                sequence += 1
                row = {
                    "sequence": sequence,
                    "occurred_at": start + timedelta(milliseconds=i + 1),
                    "actor_id": None,
                    "actor_username": "system",
                    "action": "update",
                    "object_type": "growth.filler",
                    "object_id": str(i),
                    "object_repr": f"filler {i}",
                    "model_ref": model_ref,
                    "changes": normalise({"note": {"before": "", "after": f"step {i}"}}),
                    "message": "A filler event of the growth benchmark.",
                    "request_id": "",
                    "client_ip": "",
                    "prev_hash": prev_hash,
                }
                row["hash"] = prev_hash = compute_hash(row)
                values = [row[name] for name in AUDIT_COLUMNS]
                values[9] = json.dumps(row["changes"], ensure_ascii=False)
                copy.write_row(values)
        cursor.execute(
            "UPDATE audit_auditchainhead SET sequence = %s, hash = %s WHERE id = 1",
            [sequence, prev_hash],
        )
        cursor.execute("SET LOCAL session_replication_role = origin")
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {table}")


def curve_card(small: bool) -> None:
    from apps.accounts.models import User
    from apps.inventory.models import ModelVersion, RegisteredModel

    models = list(RegisteredModel.objects.order_by("slug"))
    model, other = models[0], models[1]
    creator = User.objects.filter(is_superuser=True).first() or User.objects.first()
    points = []
    for target in (10, 50 if small else 500):
        have = ModelVersion.objects.filter(model=model).count()
        ModelVersion.objects.bulk_create(
            ModelVersion(
                model=model,
                version=f"0.{n}.0",
                artifact_uri=f"s3://growth/{model.slug}/{n}",
                artifact_sha256="0" * 64,
                created_by=creator,
            )
            for n in range(have, target)
        )
        points.append((ModelVersion.objects.filter(model=model).count(), _card_ms(model)))
        _say(f"card with {points[-1][0]} versions: {points[-1][1]:.0f} ms")
    _curve("model-card PDF, by versions", "versions", points, flat=True)

    from apps.audit.models import AuditEvent

    points = [(AuditEvent.objects.filter(model_ref=other.pk).count(), _card_ms(other))]
    _append_events(1_000 if small else 10_000, model_ref=other.pk)
    points.append((AuditEvent.objects.filter(model_ref=other.pk).count(), _card_ms(other)))
    _say(f"card by audit events: {points}")
    _curve("model-card PDF, by the model's audit events", "events", points, flat=True)


def curve_evaluation(small: bool) -> None:
    from django.db import connection

    from apps.monitoring.evaluation.services import evaluate_batch
    from apps.monitoring.models import IngestionBatch, Observation, Threshold

    threshold = Threshold.objects.filter(status="active").order_by("pk").first()
    table = Observation._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT o.version_id, o.metric_id, o.segment, min(o.timestamp), count(*),"  # noqa: S608
            f" max(o.batch_id) FROM {table} o JOIN inventory_modelversion v ON v.id = o.version_id"
            " WHERE v.model_id = %s AND o.metric_id = %s"
            " GROUP BY 1, 2, 3 ORDER BY count(*) DESC LIMIT 1",
            [threshold.model_id, threshold.metric_id],
        )
        version_id, metric_id, segment, oldest, have, batch_id = cursor.fetchone()
    batch = IngestionBatch.objects.get(pk=batch_id)
    series = [(version_id, metric_id, segment)]
    points = []
    for target in (1_000, 10_000, 100_000) if small else (10_000, 100_000, 1_000_000):
        add = target - have
        if add > 0:
            with connection.cursor() as cursor:  # older than the window: same value evaluated
                cursor.execute(
                    f"INSERT INTO {table} (version_id, metric_id, segment, timestamp, value,"  # noqa: S608
                    " batch_id) SELECT %s, %s, %s, %s - make_interval(mins => g), 0.5, %s"
                    " FROM generate_series(%s, %s) g",
                    [version_id, metric_id, segment, oldest, batch_id, 1, add],
                )
                oldest_sql = f"SELECT min(timestamp) FROM {table} WHERE version_id = %s"  # noqa: S608
                cursor.execute(oldest_sql + " AND metric_id = %s", [version_id, metric_id])
                oldest = cursor.fetchone()[0]
                cursor.execute(f"ANALYZE {table}")
            have = target
        # About 10 ms a call: the median of 21 (after 3 unmeasured), as 5 let one busy moment
        # of the machine move the smallest size by 2× (5.7 against 11.5 ms in two runs).
        ms = _median_ms(lambda: evaluate_batch(batch=batch, series=series), repeat=21, warmup=3)
        points.append((target, ms))
        _say(f"evaluation at {target:,} points: {ms:.1f} ms")
    _curve("threshold evaluation, by points in the series", "points", points, flat=True)


def _verify_options() -> set[str]:
    from django.core.management import load_command_class

    command = load_command_class("apps.audit", "verify_audit_log")
    parser = command.create_parser("manage.py", "verify_audit_log")
    return {opt for action in parser._actions for opt in action.option_strings}


def curve_audit(small: bool) -> None:
    from django.core.management import call_command

    from apps.audit.models import AuditEvent
    from apps.reports import services

    first = AuditEvent.objects.order_by("sequence").values_list("occurred_at", flat=True).first()
    window = {"start": first.isoformat(), "end": (first + timedelta(days=7)).isoformat()}
    auditor = _user("auditor")
    options = _verify_options()
    if "--full" in options:  # incremental from the last verified checkpoint by default
        full_flags, inc_flags = ("--full",), ()
    else:
        increment = next((o for o in sorted(options) if "increment" in o), None)
        full_flags, inc_flags = (), ((increment,) if increment else None)
    quiet = open(os.devnull, "w")  # noqa: SIM115 - for the whole curve

    def verify(*flags):
        call_command("verify_audit_log", *flags, stdout=quiet, stderr=quiet)

    def extract():
        report = services.report_request(
            user=auditor, kind="audit_extract", fmt="csv", scope=window, enqueue=False
        )
        services.report_generate(report_id=report.pk)

    full, inc, ext = [], [], []
    for target in (1_000, 10_000, 100_000) if small else (10_000, 100_000, 1_000_000):
        have = AuditEvent.objects.count()
        if target > have:
            started = time.perf_counter()
            _append_events(target - have)
            _say(f"{target - have:,} events appended in {time.perf_counter() - started:.0f} s")
        total = AuditEvent.objects.count()
        repeat = 3 if total < 500_000 else 1  # a whole-chain run at 1M takes over a minute
        full.append((total, _median_ms(lambda: verify(*full_flags), repeat=repeat, warmup=0)))
        if inc_flags is not None:
            # As in production: beat signs the head now and then (audit_checkpoint), and an
            # incremental run starts from the latest signed checkpoint a verification proved.
            call_command("audit_checkpoint", stdout=quiet, stderr=quiet)
            verify(*inc_flags)  # verified up to the checkpoint
            _append_events(1_000)
            start = time.perf_counter()
            verify(*inc_flags)
            inc.append((total, (time.perf_counter() - start) * 1000))
        # The extract reads one week whatever the size: cheap enough for a median of five
        # after a warm-up at every size, where the whole-chain verification gets one sample.
        ext.append((total, _median_ms(extract, repeat=5, warmup=1)))
        _say(
            f"audit at {total:,} events: verify {full[-1][1]:.0f} ms"
            + (f", incremental {inc[-1][1]:.0f} ms" if inc else "")
            + f", extract {ext[-1][1]:.0f} ms"
        )
    _curve(
        " ".join(("verify_audit_log", *full_flags)) + ", whole chain", "events", full, flat=False
    )
    if inc:
        name = " ".join(("verify_audit_log", *inc_flags)) + " (incremental)"
        _curve(f"{name}, 1,000 new events", "events", inc, flat=True)
    else:
        _emit(
            Figure(
                SECTION,
                "verify_audit_log incremental run",
                float("nan"),
                "",
                detail="the command offers no incremental run",
            )
        )
    _curve("audit extract (CSV) of a fixed week", "events", ext, flat=True)


def _user(username: str):
    from apps.accounts.models import User

    return User.objects.get(username=username)


def curve_dashboard(small: bool) -> None:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from apps.inventory.models import RegisteredModel

    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(_user("validator"))
    table = RegisteredModel._meta.db_table
    columns = [
        f.column
        for f in RegisteredModel._meta.concrete_fields
        if f.column not in ("id", "slug", "name")
    ]
    points, queries = [], []
    for target in (12, 100, 500) if small else (12, 1_000, 10_000):
        have = RegisteredModel.objects.count()
        if target > have:
            with connection.cursor() as cursor:  # copies of the first model, new names
                cols = ", ".join(columns)
                cursor.execute(
                    f"INSERT INTO {table} (slug, name, {cols})"  # noqa: S608
                    f" SELECT 'growth-' || g, 'Growth model ' || g, {cols}"
                    f" FROM generate_series(%s, %s) g,"
                    f" (SELECT * FROM {table} ORDER BY id LIMIT 1) t",
                    [have + 1, target],
                )
                cursor.execute(f"ANALYZE {table}")

        def home():
            response = client.get("/")
            if response.status_code != 200:
                raise RuntimeError(f"dashboard answered {response.status_code}")

        ms = _median_ms(home, repeat=10, warmup=2)
        with CaptureQueriesContext(connection) as captured:
            home()
        total = RegisteredModel.objects.count()
        points.append((total, ms))
        queries.append((total, len(captured)))
        _say(f"dashboard at {total:,} models: {ms:.0f} ms, {len(captured)} queries")
    _curve("dashboard (validator), by registered models", "models", points, flat=True)
    for total, count in queries:
        _emit(Figure(SECTION, f"dashboard queries: {total:,} models", count, "", 12))


CURVES = {
    "evaluation": curve_evaluation,
    "card": curve_card,
    "audit": curve_audit,
    "dashboard": curve_dashboard,
}


def inner(args) -> int:
    media = Path(tempfile.mkdtemp(prefix="mlgov-bench-growth-"))
    try:
        _setup(args.database_url, media)
        for name in args.growth_curves.split(","):
            started = time.perf_counter()
            CURVES[name.strip()](args.growth_small)
            _say(f"{name} done in {time.perf_counter() - started:.0f} s")
    finally:
        shutil.rmtree(media, ignore_errors=True)
    return 0


def main() -> int:
    return part_main(__doc__.split("\n\n")[0], add_arguments=add_arguments, run=run, inner=inner)


if __name__ == "__main__":
    sys.exit(main())
