"""Chart of a 1,000,000-point series: bucketed read in SQL, LTTB, geometry and SVG markup.

Usage::

    .venv/bin/python benchmarks/chart_benchmark.py                  # 1,000,000 points
    .venv/bin/python benchmarks/chart_benchmark.py --points 200000  # quicker

Runs against PostgreSQL when ``DATABASE_URL`` is set (in a throw-away ``test_<name>``
database created and dropped by Django's test machinery, never the database itself), else
against an in-memory SQLite database. Loads one series of ``--points`` observations (one a
minute, with noise and a one-point spike) through the loader, then times what the
Monitoring tab does for it: ``metric_series`` (the reduction to time buckets in SQL),
``series_points`` (buckets to points, LTTB to at most 600), ``build_chart`` and rendering
``includes/metric_chart.svg.html``. Prints each step's best time over ``--repeat`` runs, and
the total against its floor (1 s on PostgreSQL; 5 s on the development SQLite database), and
checks the spike survived. Exits 1 when the floor is missed.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mlgov.settings")
if os.environ.get("DATABASE_URL"):
    os.environ.setdefault("DJANGO_SECRET_KEY", "benchmark")
    if not os.environ.get("MLGOV_SIGNING_KEY_FILE"):
        # A throwaway signing key (required with DATABASE_URL): benchmark reports are never filed.
        from apps.core.signing import generate_private_key_pem

        os.environ.setdefault("MLGOV_SIGNING_KEY", generate_private_key_pem())

#: Seconds allowed for the whole chart. The floor that matters is PostgreSQL's (production);
#: the embedded SQLite database of development parses every stored time as text.
FLOORS = {"postgresql": 1.0, "sqlite": 5.0}


def _load(points: int):
    """One model version with ``points`` observations of one metric, the spike's value."""
    import numpy as np
    import pandas as pd
    from django.db import connection, transaction

    from apps.accounts.models import User
    from apps.inventory.models import BusinessUnit, ModelVersion, RegisteredModel
    from apps.monitoring.ingestion.loader import load_observations
    from apps.monitoring.models import IngestionBatch, MetricDefinition

    user = User.objects.create(username="bench")
    unit = BusinessUnit.objects.create(code="bench", name="Bench")
    model = RegisteredModel.objects.create(
        slug="bench-model",
        name="Bench",
        purpose="Benchmark.",
        business_unit=unit,
        owner=user,
        business_owner=user,
        created_by=user,
    )
    version = ModelVersion.objects.create(
        model=model,
        version="1.0.0",
        artifact_uri="s3://bench",
        artifact_sha256="0" * 64,
        created_by=user,
    )
    metric = MetricDefinition.objects.create(
        name="recall", direction="higher_is_better", created_by=user
    )
    batch = IngestionBatch.objects.create(
        source="command",
        scope_model=model,
        file_format="csv",
        sha256="1" * 64,
        status="succeeded",
        created_by=user,
    )
    end = datetime.now(UTC).replace(second=0, microsecond=0)
    rng = np.random.default_rng(7)
    values = rng.normal(0.8, 0.01, points)
    spike = 0.05
    values[points // 3] = spike
    frame = pd.DataFrame(
        {
            "version_id": np.full(points, version.pk, dtype="int64"),
            "metric_id": np.full(points, metric.pk, dtype="int64"),
            "segment": pd.Series([""] * points, dtype="object"),
            "timestamp": pd.date_range(end=end, periods=points, freq="min", tz="UTC"),
            "value": values,
        }
    )
    with transaction.atomic():
        load_observations(batch=batch, frame=frame)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:  # what autovacuum does after a large load
            cursor.execute("ANALYZE monitoring_observation")
    start = end - timedelta(minutes=points)
    return model, start, end + timedelta(minutes=1), spike


def _time(step, repeat: int):
    best, result = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = step()
        best = min(best, time.perf_counter() - t0)
    return best, result


def run(points: int, repeat: int, explain: bool = False) -> int:
    import django
    import numpy as np

    django.setup()
    from django.db import connection
    from django.template.loader import render_to_string

    from apps.monitoring import charts, selectors

    creation = connection.creation
    old_name = connection.settings_dict["NAME"]
    creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        t0 = time.perf_counter()
        model, start, end, spike = _load(points)
        print(
            f"database: {connection.vendor}; loaded {points:,} observations in "
            f"{time.perf_counter() - t0:.1f} s"
        )
        timings = {}
        timings["SQL buckets (metric_series)"], bucketed = _time(
            lambda: selectors.metric_series(model=model, start=start, end=end), repeat
        )
        [series] = bucketed
        timings["buckets → LTTB (series_points)"], (x, y) = _time(
            lambda: charts.series_points(series.t_first, series.t_last, series.low, series.high),
            repeat,
        )
        timings["geometry (build_chart)"], chart = _time(
            lambda: charts.build_chart(
                chart_id="bench",
                title="recall",
                series=[charts.Series("1.0.0", x, y)],
                start=start,
                end=end,
                bands=charts.Bands("below", 0.75, 0.7),
            ),
            repeat,
        )
        timings["SVG markup (template)"], svg = _time(
            lambda: render_to_string("includes/metric_chart.svg.html", {"chart": chart}), repeat
        )
        if explain:
            print(
                selectors.series_buckets(model=model, start=start, end=end).explain(
                    **({"analyze": True} if connection.vendor == "postgresql" else {})
                )
            )
        total = sum(timings.values())
        for name, seconds in timings.items():
            print(f"  {name:32} {seconds * 1000:8.1f} ms")
        print(f"  {'total':32} {total * 1000:8.1f} ms")
        print(
            f"observations {series.observations:,} → {len(series.t_first)} buckets → "
            f"{len(x)} points drawn; SVG {len(svg) / 1024:.0f} KiB"
        )
        kept = bool(np.isclose(y.min(), spike))
        print(f"spike {spike} kept: {kept}")
        floor = FLOORS[connection.vendor]
        ok = total <= floor and kept and series.observations == points
        print(
            f"figure {total:.3f} s, floor {floor:.1f} s ({connection.vendor}): "
            f"{'OK' if ok else 'MISSED'}"
        )
        return 0 if ok else 1
    finally:
        creation.destroy_test_db(old_name, verbosity=0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--explain", action="store_true", help="print the query plan")
    args = parser.parse_args()
    return run(args.points, args.repeat, args.explain)


if __name__ == "__main__":
    sys.exit(main())
