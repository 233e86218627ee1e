"""The scale benchmark (issue 15): one command.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379/0 \\
      .venv/bin/python benchmarks/scale_benchmark.py [--old [REV]] [--quick] [--only pages,...]

Builds (or reuses) the scale database on the PostgreSQL server of DATABASE_URL (10,000 models,
10M observations, 1M audit events; ``--quick``: 500 models and 10 requests a page), serves it
with gunicorn as deploy/ does, and measures every page and endpoint as each role (``pages``),
MLflow's registry side by side (``mlflow``), growth curves (``growth``) and report throughput
(``throughput``). ``--old REV`` also serves the old revision on a copy of the same data migrated
back to its schema and prints the before/after table. Prints every figure with its target and
exits non-zero when one is missed. Every process it starts is stopped and every worktree or copy
it makes is removed; the scale database is kept for the next run.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
import time
import traceback
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.scale import database, oldtree, pages
from benchmarks.scale.common import Figure, print_figures
from benchmarks.scale.server import DEFAULT_PORT, Tree, manage, serve

PARTS = ("pages", "mlflow", "growth", "throughput")
OTHER_PARTS = {
    "mlflow": "benchmarks.scale.mlflow_side",
    "growth": "benchmarks.scale.growth",
    "throughput": "benchmarks.scale.throughput",
}


def _other_modules(only: set[str]) -> dict:
    """The other parts' modules that exist (imported lazily; a missing one is skipped)."""
    modules = {}
    for part, name in OTHER_PARTS.items():
        if part not in only:
            continue
        try:
            modules[part] = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            print(f"note: {part}: {name} is not there yet, skipped")
    return modules


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--only", default=",".join(PARTS), help=f"parts to run: {','.join(PARTS)}")
    p.add_argument("--quick", action="store_true", help="a small database and 10 requests a page")
    p.add_argument(
        "--old",
        nargs="?",
        const=oldtree.DEFAULT_OLD,
        default=None,
        metavar="REV",
        help=f"also measure REV (default {oldtree.DEFAULT_OLD}) on the same data, side by side",
    )
    p.add_argument("--rebuild", action="store_true", help="build the scale database again")
    p.add_argument(
        "--database",
        metavar="NAME",
        help="measure this existing database on the server as it is (no build, no stamp check)",
    )
    sizes = database.Sizes()
    p.add_argument("--models", type=int, default=None, help=f"default {sizes.models:,}")
    p.add_argument("--observations", type=int, default=None, help=f"default {sizes.observations:,}")
    p.add_argument("--audit-events", type=int, default=None, help=f"default {sizes.audit_events:,}")
    p.add_argument(
        "--heavy-observations", type=int, default=None, help=f"default {sizes.heavy_observations:,}"
    )
    p.add_argument("--seed", type=int, default=None, help=f"default {sizes.seed}")
    p.add_argument("--heavy-model", metavar="SLUG", help="the heavy model (default: most observed)")
    p.add_argument(
        "--requests", type=int, default=None, help="timed requests a page (30; quick 10)"
    )
    p.add_argument(
        "--budget",
        type=float,
        default=20.0,
        help="seconds a (page, role) may take: a slower page gets fewer requests, at least 5",
    )
    p.add_argument("--roles", help="only these roles (comma-separated)")
    p.add_argument("--match", help="only pages whose label contains one of these (comma-separated)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help="new tree's port; old: +1")
    p.add_argument("--top", type=int, default=20, help="print the N slowest (page, role)")
    return p


def _sizes(args) -> database.Sizes:
    base = database.QUICK if args.quick else database.Sizes()
    return database.Sizes(
        models=args.models or base.models,
        observations=args.observations or base.observations,
        audit_events=args.audit_events or base.audit_events,
        heavy_observations=args.heavy_observations or base.heavy_observations,
        seed=args.seed if args.seed is not None else base.seed,
    )


def run_pages(args, new: Tree, db_url: str, base_url: str, old_setup) -> list[Figure]:
    discovered = pages.probe(new, db_url, "discover", {"heavy_model": args.heavy_model})
    print(
        f"pages: users {discovered['users']}, heavy model {discovered['heavy_model']}, "
        f"normal model {discovered['normal_model']}"
    )
    if discovered["not_measured"]:
        print("pages: GET routes not measured: " + ", ".join(discovered["not_measured"]))
    items = pages.items_of(
        discovered["targets"],
        roles=set(args.roles.split(",")) if args.roles else None,
        match=args.match.split(",") if args.match else None,
    )
    print(f"pages: {len(items)} (page, role) to measure, {args.requests} requests each")
    signin = pages.probe(new, db_url, "signin", {"users": discovered["users"]})
    args.tokens = signin["tokens"]  # the other parts may use them (role -> API token)
    new_results = pages.measure(
        new,
        db_url,
        base_url,
        items,
        discovered["users"],
        requests_n=args.requests,
        budget_s=args.budget,
        signin=signin,
    )
    pages.print_table(new_results, "Pages and endpoints (new)")
    figures = pages.figures(new_results, "Pages and endpoints (new)")
    if old_setup is not None:
        old, old_url, old_port = old_setup
        with serve(old, old_url, port=old_port) as old_base:
            old_results = pages.measure(
                old,
                old_url,
                old_base,
                items,
                discovered["users"],
                requests_n=args.requests,
                budget_s=args.budget,
            )
        pages.print_table(old_results, f"Pages and endpoints (old, {args.old})")
        pages.print_side_by_side(old_results, new_results)
        figures += pages.figures(
            old_results, f"Pages and endpoints (old, {args.old})", judged=False
        )
    print(f"\n## The {args.top} slowest (page, role), new tree")
    for r in pages.slowest(new_results, args.top):
        print(f"{r.label:<44} {r.role:<15} {r.queries!s:>4} q  p95 {r.p95:>9.1f} ms  {r.path}")
    return figures


def _stop_on_term(signum, frame):
    raise KeyboardInterrupt  # SIGTERM unwinds like Ctrl-C: servers stopped, copies removed


def main(argv=None) -> int:
    signal.signal(signal.SIGTERM, _stop_on_term)
    p = parser()
    args = p.parse_args(argv)
    only = set(args.only.split(","))
    unknown = only - set(PARTS)
    if unknown:
        p.error(f"unknown part(s): {', '.join(sorted(unknown))}")
    if args.requests is None:
        args.requests = 10 if args.quick else 30
    server_url = os.environ.get("DATABASE_URL", "")
    if not server_url.startswith(("postgres://", "postgresql://")):
        p.error("DATABASE_URL must name the PostgreSQL server (e.g. …/postgres)")
    started = time.monotonic()
    new = Tree()
    if args.database:
        db_url = database.url_for(server_url, args.database)
        print(f"scale database {args.database}: measured as it is (migrated to this tree)")
        manage(new, db_url, "migrate", "--noinput", quiet=True)
    else:
        db_url = database.ensure(server_url, _sizes(args), tree=new, rebuild=args.rebuild)
    print(f"scale database: {database.database_of(db_url)}, {database.size_of(db_url)}")
    others = _other_modules(only)
    figures: list[Figure] = []
    with ExitStack() as stack:
        old_setup = None
        if args.old and "pages" in only:
            # The copy is made before anything connects to the scale database (a template
            # must have no sessions); worktree and copy are removed when the block ends.
            old = stack.enter_context(oldtree.old_tree(args.old))
            old_url = stack.enter_context(oldtree.old_database(new, db_url, args.old))
            old_setup = (old, old_url, args.port + 1)
        with serve(new, db_url, port=args.port) as base_url:
            if "pages" in only:
                figures += run_pages(args, new, db_url, base_url, old_setup)
            for part, module in others.items():
                print(f"\n{part}: running {module.__name__}")
                try:
                    figures += module.run(args, database_url=db_url, base_url=base_url)
                except Exception as exc:  # one part failing must not lose the others' figures
                    traceback.print_exc()
                    figures.append(
                        Figure(part, f"{part} part ran", 0.0, "ok", 1.0, "min", detail=repr(exc))
                    )
    missed = print_figures(figures)
    print(
        f"\n{len(figures)} figures, {missed} target(s) missed, {time.monotonic() - started:.0f} s"
    )
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
