"""A real MLflow tracking server for the tests and the benchmark, from its own virtualenv.

MLflow is not a dependency of mlgov: the virtualenv ``var/mlflow-venv`` is created on first
use with a pinned ``mlflow`` (from PyPI, through pip) and reused after. The server runs on
127.0.0.1 with a SQLite backend store and a local artifact root under a temporary folder,
serving artifacts through its proxy (``mlflow-artifacts:/``). It stops with its fixture, and
by itself after ``LIFETIME_SECONDS`` should the test process die first (``timeout``).

Populating goes through MLflow's own client: ``client_script`` runs Python in that
virtualenv with ``MLFLOW_TRACKING_URI`` pointing at the server.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENV = ROOT / "var" / "mlflow-venv"
MLFLOW_PIN = "mlflow==3.17.2"  # as benchmarks/scale/mlflow_side.py
#: Where the server listens: ``MLGOV_MLFLOW_TEST_PORTS`` (``first-last``) or 18400-18449.
PORTS_ENV = "MLGOV_MLFLOW_TEST_PORTS"
LIFETIME_SECONDS = 3600
INSTALL_TIMEOUT = 1500


def _venv_python() -> Path:
    return VENV / "bin" / "python"


def ensure_venv() -> tuple[Path | None, str]:
    """The virtualenv's python, creating it when missing; ``(None, why)`` when it cannot be
    made (no network, no pip). Test workers that need it at the same time take turns (a
    lock file beside it): the first creates it, the others find it made."""
    stamp = VENV / f".installed-{MLFLOW_PIN}"
    if stamp.exists():
        return _venv_python(), ""
    VENV.parent.mkdir(parents=True, exist_ok=True)
    with open(VENV.parent / "mlflow-venv.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if stamp.exists():
            return _venv_python(), ""
        return _create_venv(stamp)


def _create_venv(stamp: Path) -> tuple[Path | None, str]:
    try:
        if not _venv_python().exists():
            subprocess.run(
                [sys.executable, "-m", "venv", str(VENV)], check=True, capture_output=True
            )
        subprocess.run(
            [
                str(_venv_python()),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                MLFLOW_PIN,
            ],
            check=True,
            capture_output=True,
            timeout=INSTALL_TIMEOUT,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        tail = detail.decode("utf-8", "replace").strip().splitlines()[-3:]
        return None, f"could not create {VENV} with {MLFLOW_PIN}: {exc} {' '.join(tail)}"
    stamp.touch()
    return _venv_python(), ""


def test_ports() -> range:
    first, _, last = os.environ.get(PORTS_ENV, "18400-18449").partition("-")
    return range(int(first), int(last or first) + 1)


def free_port(ports: range | None = None) -> int:
    ports = ports or test_ports()
    for port in ports:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"No free port in {ports.start}-{ports.stop - 1}.")


@dataclass
class MlflowServer:
    python: Path
    root: Path
    port: int
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def artifacts(self) -> Path:
        return self.root / "artifacts"

    @property
    def allow_entry(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, *, workers: int = 2, lifetime: int = LIFETIME_SECONDS) -> MlflowServer:
        self.root.mkdir(parents=True, exist_ok=True)
        self.artifacts.mkdir(exist_ok=True)
        mlflow = self.python.parent / "mlflow"
        command = [
            "timeout", str(lifetime),
            str(mlflow), "server",
            "--host", "127.0.0.1",
            "--port", str(self.port),
            "--backend-store-uri", f"sqlite:///{self.root / 'mlflow.db'}",
            "--artifacts-destination", str(self.artifacts),
            "--workers", str(workers),
        ]  # fmt: skip
        self.log = open(self.root / "server.log", "wb")  # noqa: SIM115 (closed in stop)
        env = {**os.environ, "MLFLOW_TRACKING_URI": ""}
        self.process = subprocess.Popen(
            command,
            cwd=self.root,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=env,
        )
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"mlflow server stopped: {self.log_tail()}")
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"{self.url}/health", timeout=2) as answer,  # noqa: S310
            ):
                if answer.status == 200:
                    return self
            time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"mlflow server did not answer in time: {self.log_tail()}")

    def log_tail(self) -> str:
        path = self.root / "server.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        if getattr(self, "log", None) is not None:
            self.log.close()

    def client_script(self, code: str, *, timeout: float = 900, **params) -> dict:
        """Run ``code`` with MLflow's client in the virtualenv; ``params`` arrive as the dict
        ``P``; whatever the script assigns to the dict ``OUT`` comes back."""
        script = (
            "import json, sys\nP = json.loads(sys.argv[1])\nOUT = {}\n"
            + code
            + "\nprint('\\n__OUT__' + json.dumps(OUT))\n"
        )
        done = subprocess.run(
            [str(self.python), "-c", script, json.dumps(params)],
            capture_output=True,
            timeout=timeout,
            cwd=self.root,
            env={
                **os.environ,
                "MLFLOW_TRACKING_URI": self.url,
                "GIT_PYTHON_REFRESH": "quiet",
                "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
            },
        )
        out = done.stdout.decode("utf-8", "replace")
        if done.returncode != 0 or "__OUT__" not in out:
            raise RuntimeError(
                f"MLflow client script failed ({done.returncode}): "
                f"{done.stderr.decode('utf-8', 'replace')[-3000:]}"
            )
        return json.loads(out.rsplit("__OUT__", 1)[1])


def start_server(
    root: Path, *, workers: int = 2, lifetime: int = LIFETIME_SECONDS
) -> tuple[MlflowServer | None, str]:
    """A running server under ``root`` (made absolute: the server runs in it), or
    ``(None, why)`` when MLflow cannot be had."""
    python, why = ensure_venv()
    if python is None:
        return None, why
    if shutil.which("timeout") is None:
        return None, "coreutils timeout not found"
    server = MlflowServer(python=python, root=Path(root).resolve(), port=free_port())
    return server.start(workers=workers, lifetime=lifetime), ""
