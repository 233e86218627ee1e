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
read, skip the coverage phase. Bounded for CI by ``MLGOV_FUZZ_EXAMPLES`` examples per
operation in the fuzzing phase (default 5), a fixed seed (``MLGOV_FUZZ_SEED``), so a failure
can be replayed with ``st replay`` from the printed log, and a deadline for the whole test
(``MLGOV_FUZZ_DEADLINE_SECONDS``, 900).
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


# Runs go in parallel, one operation at a time each: schemathesis' worker threads, on this
# Python, now and then trip CPython's "AST constructor recursion depth mismatch" while
# Hypothesis describes a strategy, which aborts that operation's cases. Paths are split so a
# resource's reads and writes (and the stateful links between them) stay in one run.
INVENTORY = r"^/api/v1/(models|datasets|deployments|lineage)/"
PARTS = {
    "inventory": ["--include-path-regex", INVENTORY],
    "rest": ["--exclude-path-regex", INVENTORY],
}


def start_fuzz(base: str, token: str, out_dir: Path, part: str, *, config: str) -> subprocess.Popen:
    """Start one schemathesis run over the operations of ``part``."""
    examples = os.environ.get("MLGOV_FUZZ_EXAMPLES", "5")
    seed = os.environ.get("MLGOV_FUZZ_SEED", "20261202")
    out_dir.mkdir()
    config_file = out_dir / "schemathesis.toml"
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
        "1",
        "--request-timeout",
        "30",
        "--generation-database",
        "none",
        "--no-color",
        "--report",
        "json",
        "--report-dir",
        str(out_dir),
        *PARTS[part],
    ]
    out = (out_dir / "st.log").open("w")
    return subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)


def finish_fuzz(process: subprocess.Popen, out_dir: Path, deadline: float) -> dict:
    """Wait for a run (killed at the deadline); returns its JSON report."""
    try:
        process.wait(timeout=max(1, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise AssertionError(f"schemathesis ran past the deadline:\n{log_tail(out_dir)}") from None
    reports = sorted(out_dir.glob("*.json"))
    assert reports, log_tail(out_dir)
    return json.loads(reports[-1].read_text())


def log_tail(out_dir: Path, size: int = 20000) -> str:
    return (out_dir / "st.log").read_text()[-size:]


def summary(role: str, reports: list[dict]) -> dict:
    counts = {"role": role, "operations": 0, "cases": 0}
    counts.update(dict.fromkeys((*FAILURE_KINDS.values(), "other failures", "errors"), 0))
    for report in reports:
        # A run that could not load the schema has no operations, only its error.
        counts["operations"] += (report["operations"] or {}).get("tested", 0)
        counts["cases"] += report["test_cases"]["generated"]
        for failure in report["failures"]:
            counts[FAILURE_KINDS.get(failure["code"], "other failures")] += failure["count"]
        counts["errors"] += sum(e["count"] for e in report["errors"])
    return counts


def test_the_api_survives_schemathesis_as_admin_and_viewer(tmp_path, capsys):
    started = time.monotonic()
    deadline = started + float(os.environ.get("MLGOV_FUZZ_DEADLINE_SECONDS", "900"))
    with live_server.site(tmp_path, "fuzz") as site:
        site.manage("seed_demo")
        tokens = {"admin": site.token("admin"), "viewer": site.token("viewer")}
        seeded = time.monotonic()
        server_env = {
            # Jobs are queued in memory and never run: the fuzz is about the API.
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "CELERY_BROKER_URL": "memory://",
            "GUNICORN_WORKERS": "2",
            # Requests wait on PostgreSQL as much as on the CPU: threads keep both busy.
            "GUNICORN_THREADS": "4",
        }
        log = tmp_path / "gunicorn.log"
        with live_server.server(site, "gunicorn", log=log, extra_env=server_env) as base:
            runs = {
                (role, part): start_fuzz(
                    base,
                    token,
                    tmp_path / f"{role}-{part}",
                    part,
                    config=VIEWER_CONFIG if role == "viewer" else "",
                )
                for role, token in tokens.items()
                for part in PARTS
            }
            reports = {
                key: finish_fuzz(p, tmp_path / "-".join(key), deadline) for key, p in runs.items()
            }
    results = [
        summary(role, [r for (who, _), r in reports.items() if who == role]) for role in tokens
    ]
    timing = f"setup {seeded - started:.0f} s, total {time.monotonic() - started:.0f} s"
    with capsys.disabled():
        print(f"\nAPI fuzz ({timing}):")
        for counts in results:
            print("  " + ", ".join(f"{k}: {v}" for k, v in counts.items()))
    for (role, part), report in reports.items():
        bad = summary(role, [report])
        assert not any(bad[k] for k in (*FAILURE_KINDS.values(), "other failures", "errors")), (
            f"{role} ({part}): {bad}\n{log_tail(tmp_path / f'{role}-{part}')}\n"
            f"server log:\n{log.read_text()[-5000:]}"
        )
