"""Test-suite time, old against new, in one run on this machine.

    .venv/bin/python benchmarks/suite_time.py --old 9494700 --new HEAD

Clones the repository twice (``--old`` and ``--new`` revisions) into a temporary folder and
runs ``make test`` in each, one after the other, against the same PostgreSQL and Redis (each
run gets its own database name and Redis database number), with the environment ``.ci/run``
sets. Prints pytest's own time for each (its final "in N s" line: the tests, not building
the virtual environment), the ratio new/old and the floor it is compared with (default 0.60:
the new suite takes at most 60 % of the old one's time). Exits non-zero when a run fails or
the floor is missed. Not part of ``make test``: it runs the whole suite twice.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTEST_TIME = re.compile(r"=+ .* in ([0-9.]+)s(?: \([0-9:]+\))? =+\s*$", re.MULTILINE)


def run_suite(label: str, revision: str, workdir: Path, *, database: str, redis_db: int) -> float:
    clone = workdir / label
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    subprocess.run(["git", "-C", str(clone), "checkout", "-q", revision], check=True)
    key = clone / "var" / "signing-key.pem"
    key.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["openssl", "genpkey", "-algorithm", "ed25519", "-out", str(key)],
        check=True,
        capture_output=True,
    )
    base_db = os.environ.get("MLGOV_BENCH_PG", "postgres://postgres@127.0.0.1:5432")
    # As on CI, the database named in DATABASE_URL exists (the tests make their own copies).
    subprocess.run(
        ["psql", f"{base_db}/postgres", "-qc", f"CREATE DATABASE {database}"],
        capture_output=True,
        check=False,
    )
    env = {
        **os.environ,
        "DATABASE_URL": f"{base_db}/{database}",
        "REDIS_URL": os.environ.get("MLGOV_BENCH_REDIS", f"redis://127.0.0.1:6379/{redis_db}"),
        "DJANGO_SECRET_KEY": "suite-time-benchmark",
        "MLGOV_SIGNING_KEY_FILE": str(key),
        "MLGOV_CHROMIUM": shutil.which("chromium") or "",
    }
    log = workdir / f"{label}.log"
    started = time.monotonic()
    with log.open("w") as out:
        result = subprocess.run(
            ["make", "test"], cwd=clone, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    wall = time.monotonic() - started
    text = log.read_text()
    found = PYTEST_TIME.findall(text)
    summary = text.strip().splitlines()[-1] if text.strip() else ""
    print(f"{label} ({revision}): {summary}  [make test wall {wall:.0f} s]", flush=True)
    if result.returncode != 0 or not found:
        print(f"{label}: make test failed (exit {result.returncode}); log: {log}", flush=True)
        raise SystemExit(1)
    return float(found[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", required=True, help="the revision to compare against")
    parser.add_argument("--new", default="HEAD", help="the revision measured (default HEAD)")
    parser.add_argument("--floor", type=float, default=0.60, help="largest new/old ratio")
    parser.add_argument("--keep", action="store_true", help="keep the clones and logs")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="mlgov-suite-time-"))
    try:
        new = run_suite("new", args.new, workdir, database="mlgov_suite_new", redis_db=9)
        old = run_suite("old", args.old, workdir, database="mlgov_suite_old", redis_db=10)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"clones and logs kept in {workdir}")
    ratio = new / old
    print(f"old {old:.0f} s, new {new:.0f} s: new/old = {ratio:.2f} (floor {args.floor:.2f})")
    return 0 if ratio <= args.floor else 1


if __name__ == "__main__":
    sys.exit(main())
