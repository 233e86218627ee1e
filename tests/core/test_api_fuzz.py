"""The API, fuzzed: schemathesis against a live gunicorn (DEBUG off) on PostgreSQL.

Every operation of ``/api/schema/`` is tried with an admin token and a viewer token, with
schemathesis' examples, coverage (edge values: NUL bytes, control characters, huge numbers,
wrong types), fuzzing and stateful phases. Checks: no server error, every status documented,
every response body valid against its schema. Any failure fails the test; the case counts are
printed either way.

The database is a throwaway one on the ``DATABASE_URL`` server, created, filled with the demo
data (``seed_demo``, about 30 s) and dropped: operations that change state change it, which
is the point. Tasks are queued in memory and never run (the API is under test, not the
workers). Both tokens try every operation; the viewer's writes, refused before their bodies are
read, skip the coverage phase. Bounded for CI by ``MLGOV_FUZZ_EXAMPLES`` examples
per operation in the fuzzing phase (default 5) and a fixed seed (``MLGOV_FUZZ_SEED``), so a
failure can be replayed with ``st replay`` from the printed log.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from tests import live_server

pytestmark = pytest.mark.services

CHECKS = "not_a_server_error,status_code_conformance,response_schema_conformance"
FAILURE_KINDS = {
    "ST101": "server errors",
    "ST103": "undocumented statuses",
    "ST108": "schema violations",
}
SCHEMATHESIS = str(Path(live_server.PYTHON).with_name("st"))
# Every write a viewer sends is refused by the permission check before its body is read, so
# the viewer's writes skip the coverage phase's thousands of body variants (fuzzing and
# stateful phases still send them); the admin gets everything on every operation.
VIEWER_CONFIG = """
[[operations]]
include-method = ["POST", "PUT", "PATCH", "DELETE"]
phases.coverage.enabled = false
"""


def fuzz(base: str, token: str, report_dir: Path, log: Path, *, config: str = "") -> dict:
    """Run schemathesis once (with ``config`` as its schemathesis.toml); returns its JSON
    report."""
    examples = os.environ.get("MLGOV_FUZZ_EXAMPLES", "5")
    seed = os.environ.get("MLGOV_FUZZ_SEED", "20261202")
    config_file = report_dir.with_suffix(".toml")
    config_file.write_text(config)
    cmd = [
        SCHEMATHESIS,
        "--config-file",
        str(config_file),
        "run",
        f"{base}/api/schema/",
        "--header",
        f"Authorization: Token {token}",
        "--checks",
        CHECKS,
        "--max-examples",
        examples,
        "--seed",
        seed,
        "--workers",
        os.environ.get("MLGOV_FUZZ_WORKERS", "4"),
        "--request-timeout",
        "30",
        "--generation-database",
        "none",
        "--no-color",
        "--report",
        "json",
        "--report-dir",
        str(report_dir),
    ]
    with log.open("w") as out:
        subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, timeout=600, check=False)
    reports = sorted(report_dir.glob("*.json"))
    assert reports, log.read_text()[-5000:]
    return json.loads(reports[-1].read_text())


def summary(role: str, report: dict) -> dict:
    counts = {"cases": report["test_cases"]["generated"]}
    by_code = {f["code"]: f["count"] for f in report["failures"]}
    for code, label in FAILURE_KINDS.items():
        counts[label] = by_code.get(code, 0)
    counts["other failures"] = sum(n for c, n in by_code.items() if c not in FAILURE_KINDS)
    counts["errors"] = sum(e["count"] for e in report["errors"])
    counts["operations"] = report["operations"]["tested"]
    return {"role": role, **counts}


def test_the_api_survives_schemathesis_as_admin_and_viewer(tmp_path, capsys):
    started = time.monotonic()
    with live_server.site(tmp_path, "fuzz") as site:
        site.manage("seed_demo")
        seeded = time.monotonic()
        tokens = {"admin": site.token("admin"), "viewer": site.token("viewer")}
        server_env = {
            # Jobs are queued in memory and never run: the fuzz is about the API.
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "CELERY_BROKER_URL": "memory://",
            "GUNICORN_WORKERS": "2",
            # Requests wait on PostgreSQL as much as on the CPU: threads keep both busy.
            "GUNICORN_THREADS": "4",
        }
        log = tmp_path / "gunicorn.log"
        results = []
        with live_server.server(site, "gunicorn", log=log, extra_env=server_env) as base:
            for role, token in tokens.items():
                began = time.monotonic()
                config = VIEWER_CONFIG if role == "viewer" else ""
                report = fuzz(
                    base, token, tmp_path / role, tmp_path / f"st-{role}.log", config=config
                )
                counts = {**summary(role, report), "seconds": round(time.monotonic() - began)}
                results.append((counts, tmp_path / f"st-{role}.log"))
    timing = f"setup {seeded - started:.0f} s, total {time.monotonic() - started:.0f} s"
    with capsys.disabled():
        print(f"\nAPI fuzz ({timing}):")
        for counts, _ in results:
            print("  " + ", ".join(f"{k}: {v}" for k, v in counts.items()))
    for counts, st_log in results:
        bad = {k: counts[k] for k in (*FAILURE_KINDS.values(), "other failures", "errors")}
        assert not any(bad.values()), (
            f"{counts['role']}: {bad}\n{st_log.read_text()[-20000:]}\n"
            f"server log:\n{log.read_text()[-5000:]}"
        )
