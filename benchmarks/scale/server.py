"""Serve a source tree (the current checkout, or an old revision in a ``git worktree``) on a
given PostgreSQL database with gunicorn, as ``deploy/`` does: ``-c deploy/gunicorn.conf.py``,
2 workers, DEBUG off, static files collected and served by WhiteNoise, the environment the
deployment expects (secret key, signing key, allowed hosts). A context manager: the server is
stopped (its whole process group) when the block ends.

``serve_mlgov(...)`` is what other parts of the benchmark use: it yields the base URL.
``tree_env(...)`` is the environment for anything else run in the tree (manage.py, the probe).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from benchmarks.scale.common import ROOT, VAR

RUN_DIR = VAR / "scale-run"
DEFAULT_PORT = 18200


@dataclass(frozen=True)
class Tree:
    """A source tree to serve and the Python that runs it."""

    path: Path = ROOT
    python: Path = ROOT / ".venv" / "bin" / "python"
    label: str = "new"

    @property
    def var(self) -> Path:
        return RUN_DIR / self.label


def signing_key_file() -> Path:
    """An Ed25519 key (PEM) for the served trees, made once under var/scale-run/."""
    path = RUN_DIR / "signing-key.pem"
    if not path.exists():
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        RUN_DIR.mkdir(parents=True, exist_ok=True)
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        path.write_bytes(pem)
        path.chmod(0o600)
    return path


def tree_env(tree: Tree, database_url: str, *, redis_url: str | None = None) -> dict[str, str]:
    """The environment of a production-like deployment of ``tree`` on ``database_url``."""
    tree.var.mkdir(parents=True, exist_ok=True)
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "TZ")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(
        {
            "DATABASE_URL": database_url,
            "DJANGO_SETTINGS_MODULE": "mlgov.settings",
            "DJANGO_DEBUG": "false",
            "DJANGO_SECRET_KEY": "scale-benchmark-" + "x" * 40,
            "MLGOV_SIGNING_KEY_FILE": str(signing_key_file()),
            # the test client of the probe asks as "testserver"
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
            "MLGOV_VAR_DIR": str(tree.var),
            "DJANGO_STATIC_ROOT": str(tree.var / "static"),
            "MLGOV_AUDIT_CHECKPOINT_PATH": str(tree.var / "audit_checkpoints.jsonl"),
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    redis_url = redis_url if redis_url is not None else os.environ.get("REDIS_URL", "")
    if redis_url:
        env["REDIS_URL"] = redis_url
    else:
        env["CELERY_TASK_ALWAYS_EAGER"] = "true"
    return env


def manage(tree: Tree, database_url: str, *args: str, quiet: bool = False) -> str:
    """Run ``manage.py`` of ``tree`` on ``database_url``; its output (raises on failure)."""
    result = subprocess.run(
        [str(tree.python), "manage.py", *args],
        cwd=tree.path,
        env=tree_env(tree, database_url),
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        sys.stderr.write(result.stdout[-4000:] + result.stderr[-4000:])
        raise RuntimeError(f"manage.py {' '.join(args)} failed in {tree.path} ({tree.label})")
    if not quiet and result.stdout.strip():
        print(result.stdout.rstrip())
    return result.stdout


def free_port() -> int:
    """A port nobody listens on (the system's choice)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _port_free(port: int) -> bool:
    """Nobody listens on ``port`` (connections of an earlier run waiting out TIME_WAIT do not
    count: gunicorn binds with SO_REUSEADDR too)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback
            return response.status < 500
    except urllib.error.HTTPError as exc:
        return exc.code < 500
    except OSError:
        return False


@contextmanager
def serve(
    tree: Tree,
    database_url: str,
    *,
    port: int = DEFAULT_PORT,
    workers: int = 2,
    redis_url: str | None = None,
    startup_seconds: float = 90,
) -> Iterator[str]:
    """gunicorn serving ``tree`` on ``database_url`` at 127.0.0.1:``port`` (0: a free port);
    yields the base URL. A port already taken is refused: another server would answer."""
    if port == 0:
        port = free_port()
    elif not _port_free(port):
        raise RuntimeError(f"127.0.0.1:{port} is in use: pass another --port")
    manage(tree, database_url, "collectstatic", "--noinput", "--verbosity", "0")
    env = tree_env(tree, database_url, redis_url=redis_url)
    env.update(
        {
            "GUNICORN_BIND": f"127.0.0.1:{port}",
            "GUNICORN_WORKERS": str(workers),
            "GUNICORN_LOG_LEVEL": "warning",
        }
    )
    log = tree.var / f"gunicorn-{port}.log"
    command = [
        str(tree.python),
        "-m",
        "gunicorn",
        "-c",
        "deploy/gunicorn.conf.py",
        "--access-logfile",
        str(tree.var / f"access-{port}.log"),
        "--error-logfile",
        str(log),
        "mlgov.wsgi:application",
    ]
    output = log.open("a")  # the workers' own logging (Django's errors) goes to stderr
    process = subprocess.Popen(
        command,
        cwd=tree.path,
        env=env,
        stdout=output,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: stopped as a whole below
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + startup_seconds
        while process.poll() is not None or not _answers(base_url + "/accounts/login/"):
            if process.poll() is not None:
                tail = log.read_text()[-3000:] if log.exists() else ""
                raise RuntimeError(f"gunicorn ({tree.label}) exited at start-up:\n{tail}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn ({tree.label}) did not answer in {startup_seconds}s")
            time.sleep(0.3)
        yield base_url
    finally:
        _stop(process)
        output.close()


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    except ProcessLookupError:
        pass


@contextmanager
def serve_mlgov(
    database_url: str,
    *,
    port: int = 0,
    tree: Tree | None = None,
    workers: int = 2,
    redis_url: str | None = None,
) -> Iterator[str]:
    """The current checkout (or ``tree``) served on ``database_url`` at ``port`` (default: a
    free one); yields its base URL."""
    with serve(
        tree or Tree(), database_url, port=port, workers=workers, redis_url=redis_url
    ) as base_url:
        yield base_url
