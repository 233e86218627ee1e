"""Drift benchmark: mlgov's ``dataset_drift`` against Evidently's DataDriftPreset.

Generates a reference and a current sample of 50 columns × 1,000,000 rows (numeric,
integer, few-valued, binary and categorical columns, a third of them drifted, some with
missing values), writes them to Parquet, times mlgov's drift on them, then runs Evidently's
``Report([DataDriftPreset()])`` on the same files in its own virtualenv (Evidently is not a
dependency of mlgov: the script creates ``var/bench-venv-evidently`` on first use) and
compares, column by column, the test chosen, the drift score, the drift flag and the PSI
(Evidently's ``psi`` stat test on the same column), and the share of drifted columns.

Values must agree within a relative tolerance of 1e-6 (absolute 1e-12 for scores near 0:
both sides sum floating-point terms in different orders), flags exactly. Before the full
run the same comparison runs on small samples (600 and 5,000 rows) so every test (KS,
chi-square, z-test, Wasserstein, Jensen–Shannon) is checked.

    .venv/bin/python benchmarks/drift_benchmark.py            # 1,000,000 rows
    .venv/bin/python benchmarks/drift_benchmark.py --rows 100000

Prints both times, the speed-up and the floor (5×); exits non-zero when a value differs
or the floor is missed.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from apps.monitoring.drift.stats import dataset_drift  # noqa: E402

FLOOR = 5.0
RTOL = 1e-6
ATOL = 1e-12
EVIDENTLY_PIN = ("evidently==0.7.23", "pandas==2.3.3", "pyarrow")  # 0.7 does not run on pandas 3
VENV = ROOT / "var" / "bench-venv-evidently"
# Evidently's display names of the tests, as mlgov names them.
METHOD_NAMES = {
    "K-S p_value": "ks",
    "Wasserstein distance (normed)": "wasserstein",
    "chi-square p_value": "chisquare",
    "Z-test p_value": "z",
    "Jensen-Shannon distance": "jensenshannon",
}

EVIDENTLY_RUNNER = r"""
import json, sys, time
import numpy as np
import pandas as pd
from evidently import Report
from evidently.presets import DataDriftPreset
from evidently.core.datasets import infer_column_type
from evidently.legacy.calculations.stattests import psi_stat_test

reference = pd.read_parquet(sys.argv[1])
current = pd.read_parquet(sys.argv[2])
started = time.perf_counter()
snapshot = Report([DataDriftPreset()], include_tests=True).run(current, reference)
seconds = time.perf_counter() - started
result = snapshot.dict()
columns = {}
for metric in result["metrics"]:
    config = metric["config"]
    if config["type"].endswith("ValueDrift"):
        columns[config["column"]] = {
            "method": config["method"], "threshold": config["threshold"], "score": metric["value"]
        }
    elif config["type"].endswith("DriftedColumnsCount"):
        dataset = metric["value"]
for test in result["tests"]:
    params = test["metric_config"]["params"]
    if params["type"].endswith("ValueDrift"):
        columns[params["column"]]["drifted"] = test["status"] == "FAIL"
for name, column in columns.items():
    kind = infer_column_type(current[name])
    ref = reference[name].replace([-np.inf, np.inf], np.nan).dropna()
    cur = current[name].replace([-np.inf, np.inf], np.nan).dropna()
    column["psi"] = float(psi_stat_test(ref, cur, kind, None).drift_score)
    column["kind"] = kind.value
print(json.dumps({"seconds": seconds, "columns": columns, "dataset": dataset}))
"""


def generate(rows: int, seed: int = 7) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Reference and current samples: 50 columns, about a third drifted."""
    rng = np.random.default_rng(seed)
    ref, cur = {}, {}
    for i in range(20):  # continuous: Wasserstein / KS
        shift = 0.25 if i % 3 == 0 else 0.0
        ref[f"num_{i:02d}"] = rng.normal(10 + i, 1 + i / 10, rows)
        cur[f"num_{i:02d}"] = rng.normal(10 + i + shift * (1 + i / 10), 1 + i / 10, rows)
        if i % 5 == 1:  # missing and infinite values are dropped
            ref[f"num_{i:02d}"][rng.random(rows) < 0.02] = np.nan
            cur[f"num_{i:02d}"][rng.random(rows) < 0.02] = np.nan
            cur[f"num_{i:02d}"][:3] = np.inf
    for i in range(5):  # integers with many values: numeric
        lam = 20 + 5 * i
        ref[f"count_{i}"] = rng.poisson(lam, rows)
        cur[f"count_{i}"] = rng.poisson(lam * (1.15 if i % 2 else 1.0), rows)
    for i in range(3):  # floats on a grid: numeric with ≤ 20 values (PSI per value)
        ref[f"grid_{i}"] = rng.integers(0, 15, rows) / 2
        cur[f"grid_{i}"] = rng.integers(0 if i else 3, 15, rows) / 2
    for i in range(3):  # floats with ≤ 5 values: chi-square / Jensen–Shannon
        p = [0.2, 0.3, 0.5]
        ref[f"level_{i}"] = rng.choice([0.0, 0.5, 1.0], rows, p=p)
        cur[f"level_{i}"] = rng.choice([0.0, 0.5, 1.0], rows, p=p if i else p[::-1])
    for i in range(4):  # small integers: categorical (≤ 10 values)
        ref[f"rating_{i}"] = rng.integers(1, 6, rows)
        cur[f"rating_{i}"] = rng.integers(1, 6 if i % 2 else 7, rows)
    for i in range(3):  # binary: z-test / Jensen–Shannon
        ref[f"flag_{i}"] = rng.choice(["no", "yes"], rows, p=[0.7, 0.3])
        cur[f"flag_{i}"] = rng.choice(["no", "yes"], rows, p=[0.5, 0.5] if i == 0 else [0.7, 0.3])
    for i in range(12):  # text categories
        size = 4 + 3 * i
        names = np.array([f"c{i}_{k}" for k in range(size)], dtype=object)
        weights = rng.random(size) + 0.2
        p = weights / weights.sum()
        q = p if i % 3 else (weights[::-1] / weights.sum())
        ref[f"cat_{i:02d}"] = names[rng.choice(size, rows, p=p)]
        values = names[rng.choice(size, rows, p=q)]
        if i == 4:  # a category the reference never saw, and missing values
            values[rng.random(rows) < 0.05] = "unseen"
            values[rng.random(rows) < 0.01] = None
        cur[f"cat_{i:02d}"] = values
    return pd.DataFrame(ref), pd.DataFrame(cur)


def ensure_venv() -> Path:
    python = VENV / "bin" / "python"
    marker = VENV / ".installed"
    if not marker.exists() or marker.read_text() != " ".join(EVIDENTLY_PIN):
        print(f"Installing {', '.join(EVIDENTLY_PIN)} into {VENV} …", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", *EVIDENTLY_PIN], check=True)
        marker.write_text(" ".join(EVIDENTLY_PIN))
    return python


def run_evidently(python: Path, workdir: Path, ref_path: Path, cur_path: Path) -> dict:
    runner = workdir / "evidently_runner.py"
    runner.write_text(EVIDENTLY_RUNNER)
    env = {**os.environ, "DO_NOT_TRACK": "1", "EVIDENTLY_DISABLE_TELEMETRY": "1"}
    done = subprocess.run(
        [str(python), str(runner), str(ref_path), str(cur_path)],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def close(a: float, b: float) -> bool:
    if math.isinf(a) or math.isinf(b) or math.isnan(a) or math.isnan(b):
        return (math.isnan(a) and math.isnan(b)) or a == b
    return math.isclose(a, b, rel_tol=RTOL, abs_tol=ATOL)


def compare(ours, theirs: dict) -> list[str]:
    """Differences between mlgov's result and Evidently's, one line each."""
    problems = []
    mine = {c.column: c for c in ours.columns}
    if sorted(mine) != sorted(theirs["columns"]):
        problems.append(f"columns differ: {sorted(mine)} vs {sorted(theirs['columns'])}")
    for name, other in theirs["columns"].items():
        col = mine.get(name)
        if col is None:
            continue
        method = METHOD_NAMES.get(other["method"], other["method"])
        if col.method != method:
            problems.append(f"{name}: method {col.method} vs {method}")
        if col.kind != {"num": "numeric", "cat": "categorical"}.get(other["kind"], other["kind"]):
            problems.append(f"{name}: kind {col.kind} vs {other['kind']}")
        if not close(col.score, other["score"]):
            problems.append(f"{name}: score {col.score!r} vs {other['score']!r}")
        if not close(col.psi, other["psi"]):
            problems.append(f"{name}: psi {col.psi!r} vs {other['psi']!r}")
        if col.drifted != other["drifted"]:
            problems.append(f"{name}: drifted {col.drifted} vs {other['drifted']}")
        if col.threshold != other["threshold"]:
            problems.append(f"{name}: threshold {col.threshold} vs {other['threshold']}")
    if ours.drifted_count != theirs["dataset"]["count"]:
        problems.append(f"drifted columns {ours.drifted_count} vs {theirs['dataset']['count']}")
    if not close(ours.share, theirs["dataset"]["share"]):
        problems.append(f"share {ours.share} vs {theirs['dataset']['share']}")
    return problems


def run(rows: int, python: Path, workdir: Path, *, seed: int = 7) -> tuple[float, float, list]:
    reference, current = generate(rows, seed)
    ref_path, cur_path = workdir / f"reference-{rows}.parquet", workdir / f"current-{rows}.parquet"
    reference.to_parquet(ref_path, index=False)
    current.to_parquet(cur_path, index=False)
    del reference, current
    # Both sides start from the Parquet files and time the computation only.
    reference, current = pd.read_parquet(ref_path), pd.read_parquet(cur_path)
    started = time.perf_counter()
    ours = dataset_drift(reference, current, workers=2)
    mine = time.perf_counter() - started
    theirs = run_evidently(python, workdir, ref_path, cur_path)
    methods = sorted({c.method for c in ours.columns})
    print(
        f"  {rows:>9,} rows × {len(ours.columns)} columns: mlgov {mine:8.3f} s, "
        f"Evidently {theirs['seconds']:8.3f} s; drifted {ours.drifted_count} "
        f"(share {ours.share:.2f}); tests {', '.join(methods)}; "
        f"{len(theirs['columns'])} columns compared",
        flush=True,
    )
    return mine, theirs["seconds"], compare(ours, theirs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    python = ensure_venv()
    failed = False
    with tempfile.TemporaryDirectory(prefix="mlgov-drift-bench-") as tmp:
        workdir = Path(tmp)
        print("Validating on small samples (every test):")
        for rows in (600, 5000):
            _, _, problems = run(rows, python, workdir, seed=rows)
            for line in problems:
                print(f"    DIFFERS {line}")
            failed |= bool(problems)
        print(f"Benchmark ({args.rows:,} rows):")
        mine, theirs, problems = run(args.rows, python, workdir)
        for line in problems:
            print(f"    DIFFERS {line}")
        failed |= bool(problems)
    speedup = theirs / mine
    print(f"mlgov dataset_drift: {mine:.2f} s")
    print(f"Evidently DataDriftPreset: {theirs:.2f} s")
    print(f"speed-up: {speedup:.1f}× (floor {FLOOR:.0f}×)")
    print(f"values: {'DIFFER' if failed else f'identical within rtol {RTOL:g}, flags equal'}")
    if speedup < FLOOR:
        print("FAILED: below the floor")
        failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
