"""Real processes for the job fault tests: a throwaway ``redis-server`` the test stops and
starts again on the same port, Celery workers (prefork, optionally with beat) pointed at a
throwaway installation, and an API client that times every answer.

Everything listens on 127.0.0.1 only and is stopped (killed if it lingers) when its block
ends, whatever happened.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import requests

from tests import live_server

ROOT = live_server.ROOT
REDIS_SERVER = "redis-server"


# --- a throwaway redis-server -------------------------------------------------------------


@dataclass
class Redis:
    """A ``redis-server`` on its own loopback port, with no persistence: stopping it loses
    every message it held, as a crash of an ephemeral broker does."""

    directory: Path
    port: int = field(default_factory=live_server.free_port)
    process: subprocess.Popen | None = None
    starts: int = 0
    frozen: bool = False

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10) -> None:
        assert self.process is None, "already running"
        self.starts += 1
        log = (self.directory / f"redis-{self.starts}.log").open("wb")
        self.process = subprocess.Popen(
            [
                REDIS_SERVER,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"redis-server exited ({self.process.returncode})")
            if self.ping():
                return
            time.sleep(0.05)
        raise AssertionError(f"redis-server did not answer on port {self.port} in {timeout}s")

    def ping(self) -> bool:
        import redis

        try:
            client = redis.Redis(port=self.port, socket_connect_timeout=0.5, socket_timeout=0.5)
            return bool(client.ping())
        except redis.RedisError:
            return False

    def freeze(self) -> None:
        """Stop the process without closing its port (SIGSTOP): connections are accepted by
        the kernel and then never answered, as with a hung server or a network partition."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)
        self.frozen = True

    def thaw(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)
        self.frozen = False

    def stop(self) -> None:
        """Stop it at once (SIGKILL: no chance to save or hand anything over)."""
        if self.process is None:
            return
        if self.frozen:
            self.thaw()
        self.process.kill()
        self.process.wait(timeout=10)
        self.process = None


@contextlib.contextmanager
def throwaway_redis(directory: Path) -> Iterator[Redis]:
    if shutil.which(REDIS_SERVER) is None:
        raise AssertionError("redis-server is not installed (Debian's redis-server package)")
    directory.mkdir(parents=True, exist_ok=True)
    server = Redis(directory=directory)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def broker_env(redis: Redis, **extra: str) -> dict[str, str]:
    """The settings that point a web server or a worker at ``redis`` (broker, results, cache)
    and send tasks to real workers."""
    return {
        "REDIS_URL": redis.url,
        "CELERY_BROKER_URL": redis.url,
        "CELERY_RESULT_BACKEND": redis.url,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        **extra,
    }


# --- Celery workers ---------------------------------------------------------------------------


@dataclass
class Worker:
    process: subprocess.Popen
    log: Path
    node: str
    broker_url: str

    def pool_pids(self) -> list[int]:
        """Pids of the pool processes, as the worker itself reports them (remote control)."""
        from celery import Celery

        # Not the current app: the tests that run after this one send through mlgov's own app.
        client = Celery(broker=self.broker_url, set_as_current=False)
        try:
            inspect = client.control.inspect(destination=[self.node], timeout=5, limit=1)
            stats = inspect.stats() or {}
        finally:
            client.close()
        return list(stats[self.node]["pool"]["processes"])

    @property
    def pid(self) -> int:
        return self.process.pid

    def children(self) -> list[int]:
        """Pids of the worker's child processes (its pool process, and beat with -B)."""
        return children_of(self.pid)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


def children_of(pid: int) -> list[int]:
    found = []
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            text = (task / "children").read_text()
            found.extend(int(p) for p in text.split())
    return found


def alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@contextlib.contextmanager
def worker(
    site: live_server.Site,
    *,
    log: Path,
    name: str,
    beat: bool = False,
    extra_env: dict | None = None,
    ready_timeout: float = 60,
) -> Iterator[Worker]:
    """A worker with the prefork pool (concurrency 1: a main process and one pool child) on
    the installation's default queue, with embedded beat when ``beat`` (its schedule file in
    the log's folder). Yields once the worker says it is ready; stops it (its whole process
    group, killed if it lingers) afterwards."""
    cmd = [
        live_server.PYTHON,
        "-m",
        "celery",
        "-A",
        "mlgov",
        "worker",
        "--pool=prefork",
        "--concurrency=1",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        "-n",
        f"{name}@%h",
        "--loglevel=INFO",
    ]
    if beat:
        cmd += ["-B", "--schedule", str(log.with_suffix(".schedule"))]
    env = {**site.env, **(extra_env or {})}
    with log.open("wb") as out:
        process = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    running = Worker(
        process=process,
        log=log,
        node=f"{name}@{os.uname().nodename}",
        broker_url=env["CELERY_BROKER_URL"],
    )
    try:
        wait_until(
            lambda: " ready." in running.log_text(),
            ready_timeout,
            lambda: f"worker {name} not ready:\n{running.log_text()[-3000:]}",
            stop=lambda: process.poll() is not None,
        )
        yield running
    finally:
        stop_group(process)


def stop_group(process: subprocess.Popen, grace: float = 15) -> None:
    """Stop a process started in its own session, and every process of that session."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=grace)
    # Whatever is left of the group (a pool child or beat outliving its parent) is killed.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=10)


def wait_until(
    done: Callable[[], object],
    timeout: float,
    message: Callable[[], str],
    *,
    interval: float = 0.1,
    stop: Callable[[], bool] | None = None,
):
    """Poll ``done`` until it returns something true (returned), or fail with ``message``."""
    deadline = time.monotonic() + timeout
    while True:
        value = done()
        if value:
            return value
        if time.monotonic() > deadline or (stop is not None and stop()):
            raise AssertionError(message())
        time.sleep(interval)


# --- the installation's data --------------------------------------------------------------


def make_world(site: live_server.Site, webhook_url: str = "") -> dict:
    """The model owner's token, the model and version (tests/jobs/world.py)."""
    output = site.manage(
        "shell",
        "-c",
        "from tests.jobs.world import main; main()",
        extra_env={"MLGOV_TEST_WEBHOOK_URL": webhook_url},
    )
    return json.loads(output.strip().splitlines()[-1])


def query(site: live_server.Site, sql: str, *params) -> list[tuple]:
    """Rows of ``sql`` read straight from the installation's database."""
    with psycopg.connect(site.env["DATABASE_URL"], autocommit=True) as conn:
        return conn.execute(sql, params).fetchall()


def job_rows(site: live_server.Site, task: str) -> dict[int, tuple[str, int, int]]:
    """object_id -> (state, runs, send_attempts) of the outbox rows of ``task``."""
    rows = query(
        site,
        "SELECT object_id, state, runs, send_attempts FROM jobs_job WHERE task = %s",
        task,
    )
    return {object_id: (state, runs, sends) for object_id, state, runs, sends in rows}


# --- an API client ----------------------------------------------------------------------------


@dataclass
class Api:
    """Calls the server as a client with a token would, timing every call."""

    base: str
    token: str
    timings: list[tuple[str, float, int]] = field(default_factory=list)

    def call(self, method: str, path: str, **kwargs) -> requests.Response:
        url = path if path.startswith("http") else f"{self.base}{path}"
        started = time.monotonic()
        answer = requests.request(
            method,
            url,
            headers={"Authorization": f"Token {self.token}"},
            timeout=kwargs.pop("timeout", 30),
            **kwargs,
        )
        self.timings.append((f"{method} {path}", time.monotonic() - started, answer.status_code))
        return answer

    def get_json(self, path: str) -> dict:
        answer = self.call("GET", path)
        assert answer.status_code == 200, (path, answer.status_code, answer.text[:500])
        return answer.json()

    @property
    def slowest(self) -> float:
        return max((seconds for _, seconds, _ in self.timings), default=0.0)
