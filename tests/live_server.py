"""Run mlgov as a real server process for tests that must see what a client sees: a database
the test prepares, ``manage.py`` commands, runserver (as ``make run`` starts it) or gunicorn
(with deploy/gunicorn.conf.py), each on a free 127.0.0.1 port, always stopped afterwards.

The Django test client calls the application in process and skips the WSGI server, so a
header value a server refuses (``POST /api/v1/reports/`` answered runserver's 500 that way)
never shows in it.

Databases: with a PostgreSQL ``DATABASE_URL`` a throwaway database ``mlgov_<label>_<random>``
is created on that server and dropped afterwards; otherwise an SQLite file in a temporary
directory. Tasks run in process (no broker), the cache is local, the signing key is made for
the run.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
# Settings the servers must not inherit from the test runner's environment.
DROPPED = (
    "DATABASE_URL",
    "REDIS_URL",
    "CELERY_BROKER_URL",
    "CELERY_RESULT_BACKEND",
    "DJANGO_SETTINGS_MODULE",
    "MLGOV_VAR_DIR",
    "MLGOV_SIGNING_KEY",
    "MLGOV_SIGNING_KEY_FILE",
    "GUNICORN_CMD_ARGS",
)
TOKEN_LINE = re.compile(r"^Generated token (\S+) for user (\S+)$", re.MULTILINE)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def postgres_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    return url if url.startswith(("postgres://", "postgresql://")) else ""


def _with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


@contextlib.contextmanager
def throwaway_postgres(label: str) -> Iterator[str]:
    """A new database on the DATABASE_URL server, dropped afterwards; yields its URL."""
    import psycopg

    base = postgres_url()
    name = f"mlgov_{label}_{secrets.token_hex(4)}"
    maintenance = _with_database(base, "postgres")
    with psycopg.connect(maintenance, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
        # Thrown away afterwards: commits need not wait for the disk (every API write commits).
        conn.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
    try:
        yield _with_database(base, name)
    finally:
        with psycopg.connect(maintenance, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class Site:
    """A prepared installation: its environment and the commands run against it."""

    env: dict[str, str]
    var_dir: Path

    def manage(self, *args: str, timeout: float = 600, extra_env: dict | None = None) -> str:
        result = subprocess.run(
            [PYTHON, "manage.py", *args],
            cwd=ROOT,
            env={**self.env, **(extra_env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if result.returncode != 0:
            raise AssertionError(
                f"manage.py {' '.join(args)} failed ({result.returncode}):\n"
                f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
            )
        return result.stdout

    def token(self, username: str) -> str:
        """A new API token for ``username`` from ``manage.py drf_create_token``."""
        output = self.manage("drf_create_token", username)
        match = TOKEN_LINE.search(output)
        assert match and match.group(2) == username, output
        return match.group(1)


@contextlib.contextmanager
def site(tmp_path: Path, label: str, **env: str) -> Iterator[Site]:
    """A migrated installation in ``tmp_path`` (PostgreSQL when DATABASE_URL says so)."""
    var_dir = tmp_path / "var"
    var_dir.mkdir()
    key_file = var_dir / "signing-key.pem"
    key_file.write_bytes(
        Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    base_env = {k: v for k, v in os.environ.items() if k not in DROPPED}
    base_env.update(
        {
            "MLGOV_VAR_DIR": str(var_dir),
            "MLGOV_SIGNING_KEY_FILE": str(key_file),
            "DJANGO_SECRET_KEY": f"live-{label}-{secrets.token_hex(16)}",
            "DJANGO_DEBUG": "false",
            "CELERY_TASK_ALWAYS_EAGER": "true",
            "DJANGO_STATIC_ROOT": str(tmp_path / "static"),
            "PYTHONUNBUFFERED": "1",
            **env,
        }
    )
    with contextlib.ExitStack() as stack:
        if postgres_url():
            base_env["DATABASE_URL"] = stack.enter_context(throwaway_postgres(label))
        installation = Site(env=base_env, var_dir=var_dir)
        installation.manage("migrate", "--noinput", "-v", "0")
        yield installation


@contextlib.contextmanager
def server(
    installation: Site,
    kind: str,
    *,
    log: Path,
    extra_env: dict | None = None,
    port: int | None = None,
) -> Iterator[str]:
    """Start ``kind`` ("runserver" or "gunicorn") on ``port`` (a free one by default: a test
    that must name its address to another server beforehand passes its own); yields its base
    URL and stops it (and its workers) whatever happens."""
    port = port or free_port()
    env = {**installation.env, **(extra_env or {})}
    if kind == "runserver":
        # As `make run` starts it, without the autoreloader (one process to stop).
        cmd = [PYTHON, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"]
    elif kind == "gunicorn":
        cmd = [GUNICORN, "-c", "deploy/gunicorn.conf.py", "mlgov.wsgi:application"]
        env.update(
            {
                "GUNICORN_BIND": f"127.0.0.1:{port}",
                "GUNICORN_WORKERS": env.get("GUNICORN_WORKERS", "2"),
                "GUNICORN_LOG_LEVEL": "warning",
            }
        )
    else:
        raise ValueError(kind)
    base = f"http://127.0.0.1:{port}"
    with log.open("wb") as out:
        process = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            _wait_until_up(base, process, log)
            yield base
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def _wait_until_up(base: str, process: subprocess.Popen, log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the server exited ({process.returncode}):\n{log.read_text()}")
        try:
            urllib.request.urlopen(f"{base}/api/schema/", timeout=2)  # noqa: S310 - loopback
            return
        except urllib.error.HTTPError:
            return  # answering (401/403 without credentials)
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"the server did not answer within {timeout}s:\n{log.read_text()}")
