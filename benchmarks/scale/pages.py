"""Every page and every list/detail endpoint a user reaches, as each role that sees something
different (validator, business owner, model owner, auditor): query count (the probe, in the
served tree) and p50/p95 over gunicorn (warm-up first), against the targets of common.py.

The list of (page, role) comes from ``probe.py discover`` run in the new tree (the url confs and
tests/test_permission_matrix.py's roles), on objects in each role's reach, the heavy model's
included; the old tree is measured on the same paths.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from benchmarks.scale.common import (
    MAX_P95_MS,
    MAX_QUERIES_PER_PAGE,
    Figure,
    download_target_ms,
    percentile,
)
from benchmarks.scale.server import Tree, tree_env

PROBE = Path(__file__).resolve().parent / "probe.py"


def probe(tree: Tree, database_url: str, command: str, spec: dict) -> dict | list:
    """Run ``probe.py <command>`` in ``tree`` with its Python and settings on ``database_url``."""
    with tempfile.TemporaryDirectory(prefix="scale-probe-") as tmp:
        source, dest = Path(tmp) / "in.json", Path(tmp) / "out.json"
        source.write_text(json.dumps(spec))
        result = subprocess.run(
            [str(tree.python), str(PROBE), command, str(source), str(dest)],
            cwd=tree.path,
            env=tree_env(tree, database_url),
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            sys.stderr.write(result.stderr[-6000:])
            raise RuntimeError(f"probe {command} failed in the {tree.label} tree")
        return json.loads(dest.read_text())


@dataclass
class Measured:
    label: str
    role: str
    path: str
    status: int
    queries: int | None
    p50: float
    p95: float
    n: int
    #: For a whole download, the rows it returned (its target is per 1,000 of them).
    rows: int | None = None

    @property
    def target_ms(self) -> float:
        return MAX_P95_MS if self.rows is None else download_target_ms(self.rows)

    @property
    def key(self) -> tuple[str, str]:
        return (self.label, self.role)


def items_of(targets: list[dict], *, roles=None, match=None) -> list[dict]:
    """(label, role, path, api) rows of the discovered targets, filtered."""
    rows = []
    for target in targets:
        if match and not any(m.lower() in target["label"].lower() for m in match):
            continue
        for role, path in target["paths"].items():
            if roles and role not in roles:
                continue
            rows.append(
                {
                    "label": target["label"],
                    "role": role,
                    "path": path,
                    "api": target["api"],
                    "download": target.get("download"),
                }
            )
    return rows


def rows_in(kind: str, body: bytes) -> int:
    """The rows a whole download returned: CSV lines after the heading; the lineage graph's
    model nodes."""
    if kind == "csv":
        return max(0, body.decode("utf-8", "replace").count("\n") - 1)
    if kind == "lineage":
        return sum(1 for node in json.loads(body)["nodes"] if node["type"] == "model")
    raise ValueError(f"unknown download kind {kind!r}")


def _time(session: requests.Session, url: str, *, requests_n: int, budget_s: float) -> tuple:
    """Warm-up, then up to ``requests_n`` timed GETs (fewer if one takes so long that they
    would not fit ``budget_s``, at least 5); (status of the first non-200 or 200, samples,
    the first answer's body)."""
    status = 200
    body = b""

    def get() -> float:
        nonlocal status, body
        start = time.perf_counter()
        try:
            response = session.get(url, timeout=120, allow_redirects=False)
            code = response.status_code
            body = body or response.content
        except requests.RequestException:
            code = 599
        elapsed = (time.perf_counter() - start) * 1000
        if code != 200 and status == 200:
            status = code
        return elapsed

    first = max(get(), get())  # warm-up: two requests, one to each worker's caches
    n = requests_n
    if first * requests_n / 1000 > budget_s:
        n = max(5, min(requests_n, math.floor(budget_s * 1000 / first)))
    return status, [get() for _ in range(n)], body


def measure(
    tree: Tree,
    database_url: str,
    base_url: str,
    items: list[dict],
    users: dict[str, str],
    *,
    requests_n: int = 30,
    budget_s: float = 20.0,
    progress: bool = True,
    signin: dict | None = None,
) -> list[Measured]:
    """Queries (probe) and times (gunicorn at ``base_url``) of every item, as its role
    (signed in through ``signin``, the probe's answer, or new sessions and tokens)."""
    if signin is None:
        signin = probe(tree, database_url, "signin", {"users": users})
    counts = probe(tree, database_url, "count", {**signin, "items": items})
    queries = {(c["label"], c["role"], c["path"]): c for c in counts} if counts else {}
    sessions: dict[tuple[str, bool], requests.Session] = {}
    results = []
    started = time.monotonic()
    for i, item in enumerate(items, 1):
        key = (item["role"], item["api"])
        if key not in sessions:
            session = requests.Session()
            if item["api"]:
                session.headers["Authorization"] = f"Token {signin['tokens'][item['role']]}"
            else:
                session.cookies.set(signin["cookie_name"], signin["sessions"][item["role"]])
            sessions[key] = session
        status, samples, body = _time(
            sessions[key], base_url + item["path"], requests_n=requests_n, budget_s=budget_s
        )
        counted = queries.get((item["label"], item["role"], item["path"]), {})
        if counted.get("status", 200) != 200 and status == 200:
            status = counted["status"]
        results.append(
            Measured(
                label=item["label"],
                role=item["role"],
                path=item["path"],
                status=status,
                queries=counted.get("queries"),
                p50=percentile(samples, 50),
                p95=percentile(samples, 95),
                n=len(samples),
                rows=rows_in(item["download"], body)
                if item.get("download") and status == 200
                else None,
            )
        )
        if progress and (i % 25 == 0 or i == len(items)):
            elapsed = time.monotonic() - started
            print(f"  [{tree.label}] {i}/{len(items)} measured ({elapsed:.0f} s)", flush=True)
    for session in sessions.values():
        session.close()
    return results


def figures(results: list[Measured], section: str, *, judged: bool = True) -> list[Figure]:
    """Two figures per (page, role): its queries and its p95 (with p50); a third when its
    answer was not 200. ``judged=False`` prints them for reference (the old tree)."""
    out = []
    for r in results:
        name = f"{r.label} [{r.role}]"
        if r.queries is not None:
            out.append(
                Figure(
                    section,
                    f"{name} queries",
                    float(r.queries),
                    "queries",
                    MAX_QUERIES_PER_PAGE if judged else None,
                )
            )
        out.append(
            Figure(
                section,
                f"{name} p95",
                r.p95,
                "ms",
                r.target_ms if judged else None,
                detail=f"p50 {r.p50:.1f} ms, n={r.n}"
                + (f"; a download of {r.rows:,} rows, judged per 1,000" if r.rows else ""),
                extra={"path": r.path},
            )
        )
        if r.status != 200:
            out.append(
                Figure(
                    section,
                    f"{name} answer",
                    float(r.status),
                    "HTTP",
                    200 if judged else None,
                    detail=f"GET {r.path} answered {r.status}, not 200",
                )
            )
    return out


def print_table(results: list[Measured], title: str) -> None:
    print(f"\n## {title}")
    print(
        f"{'page or endpoint':<44} {'role':<15} {'HTTP':>4} {'q':>4} {'p50 ms':>9} {'p95 ms':>9} n"
    )
    for r in results:
        flag = []
        if r.queries is not None and r.queries > MAX_QUERIES_PER_PAGE:
            flag.append("queries")
        if r.p95 > r.target_ms:
            flag.append("p95")
        if r.status != 200:
            flag.append("answer")
        q = "?" if r.queries is None else r.queries
        print(
            f"{r.label[:44]:<44} {r.role:<15} {r.status:>4} {q:>4} {r.p50:>9.1f} {r.p95:>9.1f} "
            f"{r.n}{'  MISSED ' + ','.join(flag) if flag else ''}"
        )


def print_side_by_side(old: list[Measured], new: list[Measured]) -> None:
    """Before/after on the same data, same run: queries, p50, p95 and the p95 ratio."""
    before = {r.key: r for r in old}
    print("\n## Pages and endpoints, old vs new (same data, same run)")
    print(
        f"{'page or endpoint':<40} {'role':<15} {'queries':>9} {'p50 ms':>17} {'p95 ms':>17} "
        f"{'p95 new/old':>11}"
    )
    for r in new:
        o = before.get(r.key)
        if o is None:
            continue
        oq = "?" if o.queries is None else o.queries
        nq = "?" if r.queries is None else r.queries
        ratio = r.p95 / o.p95 if o.p95 else math.nan
        bad = "" if o.status == 200 else f"  (old answered {o.status})"
        bad += "" if r.status == 200 else f"  (new answered {r.status})"
        print(
            f"{r.label[:40]:<40} {r.role:<15} {oq:>4}→{nq:<4} {o.p50:>8.1f}→{r.p50:<8.1f} "
            f"{o.p95:>8.1f}→{r.p95:<8.1f} {ratio:>10.2f}×{bad}"
        )


def slowest(results: list[Measured], n: int = 20) -> list[Measured]:
    return sorted(results, key=lambda r: r.p95, reverse=True)[:n]
