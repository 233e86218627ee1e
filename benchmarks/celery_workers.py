"""Celery workers the benchmarks start for themselves: solo pool (the work runs in the worker
process, so its memory is the process's), one queue, no gossip, mingle or heartbeat; ready when
each answers a ping, stopped with SIGTERM then SIGKILL. Run from the checkout's root, with the
environment the benchmark gives (its broker and database)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def start_solo_workers(
    queue: str,
    *,
    count: int = 1,
    log_for: Callable[[int], Path],
    env: dict | None = None,
    timeout: float = 60,
) -> list[subprocess.Popen]:
    """``count`` workers on ``queue`` (nodes ``<queue>-<n>@<host>``), each logging to
    ``log_for(n)``; returns once every one answers a ping (raises if one exits or stays mute)."""
    from mlgov.celery import app

    procs, nodes = [], []
    for n in range(count):
        node = f"{queue}-{n}@{os.uname().nodename}"
        cmd = [
            *(sys.executable, "-m", "celery", "-A", "mlgov", "worker"),
            *("--pool=solo", "--concurrency=1"),
            *("--without-gossip", "--without-mingle", "--without-heartbeat"),
            *("-Q", queue, "-n", node, "--loglevel=WARNING"),
        ]
        log = open(log_for(n), "w")  # noqa: SIM115 - closed with the worker
        procs.append(subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT))
        nodes.append(node)
    deadline = time.monotonic() + timeout
    waiting = set(nodes)
    while waiting and time.monotonic() < deadline:
        for n, proc in enumerate(procs):
            if proc.poll() is not None:
                stop(procs)
                raise RuntimeError(f"a worker exited early; see {log_for(n)}")
        for reply in app.control.ping(destination=sorted(waiting), timeout=1):
            waiting -= set(reply)
    if waiting:
        stop(procs)
        raise RuntimeError(f"workers {sorted(waiting)} did not answer a ping in {timeout:.0f} s")
    return procs


def stop(procs: list[subprocess.Popen | None]) -> None:
    """Stop the processes (workers or servers): SIGTERM, then SIGKILL after 20 s."""
    live = [p for p in procs if p is not None and p.poll() is None]
    for proc in live:
        proc.terminate()
    for proc in live:
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
