"""What every part of the scale benchmark shares: a measured figure, its target, timing and
the printed table. No Django here: parts run against servers over HTTP or in subprocesses."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
VAR = ROOT / "var"

# The targets, one place.
MAX_QUERIES_PER_PAGE = 12
MAX_P95_MS = 150.0
MAX_RATIO_TO_MLFLOW = 1.0
#: A whole download (the full register as CSV, the whole lineage graph) returns what the
#: inventory holds, so it is judged per 1,000 rows it returns: the page budget for each 1,000
#: (the API's largest page), never less than one page's. Proposed in issue 15's closing note.
MAX_MS_PER_1000_ROWS = 150.0


def download_target_ms(rows: int) -> float:
    return max(MAX_P95_MS, MAX_MS_PER_1000_ROWS * rows / 1000)


@dataclass
class Figure:
    """One printed line: ``value`` in ``unit`` against ``target`` (``None``: for reference)."""

    section: str
    name: str
    value: float
    unit: str
    target: float | None = None
    # "max": value must be <= target; "min": value must be >= target.
    kind: str = "max"
    detail: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def met(self) -> bool | None:
        if self.target is None or math.isnan(self.value):
            return None
        return self.value <= self.target if self.kind == "max" else self.value >= self.target


def percentile(samples: Iterable[float], q: float) -> float:
    """The q-th percentile (0–100) by linear interpolation between closest ranks."""
    values = sorted(samples)
    if not values:
        return math.nan
    rank = (len(values) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return values[low] + (values[high] - values[low]) * (rank - low)


def timed_ms(call: Callable[[], object], repeat: int, warmup: int = 2) -> list[float]:
    """Wall-clock milliseconds of ``repeat`` calls after ``warmup`` unmeasured ones."""
    for _ in range(warmup):
        call()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def print_figures(figures: list[Figure]) -> int:
    """Print the figures grouped by section; the number of targets missed."""
    missed = 0
    section = None
    for fig in figures:
        if fig.section != section:
            section = fig.section
            print(f"\n## {section}")
        if fig.target is None:
            verdict, target = "", ""
        else:
            sign = "<=" if fig.kind == "max" else ">="
            target = f"target {sign} {fig.target:g} {fig.unit}"
            verdict = "ok" if fig.met else "MISSED"
            missed += not fig.met
        detail = f"  ({fig.detail})" if fig.detail else ""
        print(f"{fig.name:<58} {fig.value:>10.1f} {fig.unit:<6} {target:<22} {verdict}{detail}")
    return missed


def part_main(
    description: str,
    *,
    add_arguments: Callable,
    run: Callable,
    inner: Callable,
    hidden_flags: tuple[str, ...] = (),
) -> int:
    """A part run on its own (``python benchmarks/scale/<part>.py``): its options, then either
    its Django half (``--inner``, started by ``run`` as a subprocess) or the whole part with its
    figures printed; exit status 1 when a target is missed."""
    import argparse
    import os

    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"),
        help="Names the PostgreSQL server (the throwaway database is made on it).",
    )
    parser.add_argument("--base-url", default="", help=argparse.SUPPRESS)
    parser.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    for flag in hidden_flags:
        parser.add_argument(flag, action="store_true", help=argparse.SUPPRESS)
    add_arguments(parser)
    args = parser.parse_args()
    if args.inner:
        return inner(args)
    figures = run(args, database_url=args.database_url, base_url=args.base_url)
    return 1 if print_figures(figures) else 0
