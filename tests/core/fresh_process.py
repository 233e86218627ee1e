"""Run a snippet of Python in a fresh process whose environment holds only what a test names:
how settings behave at start-up (embedded default, production refusals) is seen from outside."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]


def run_with_settings(code: str, var_dir: Path, **env_values: str) -> subprocess.CompletedProcess:
    """Run ``code`` with mlgov's settings, a private ``MLGOV_VAR_DIR`` and none of this
    process's mlgov, Django, Celery or service variables, only ``env_values``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "MLGOV_", "CELERY_"))
        and k not in ("DATABASE_URL", "REDIS_URL")
    }
    env.update(DJANGO_SETTINGS_MODULE="mlgov.settings", MLGOV_VAR_DIR=str(var_dir), **env_values)
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
