"""`manage.py check --deploy` is clean with production-like environment values."""

from __future__ import annotations

import os
import secrets
import socket
import string
import subprocess
import sys
from pathlib import Path

import pytest

from apps.core.signing import generate_private_key_pem
from tests.audit.roles import app_database_role

BASE_DIR = Path(__file__).resolve().parents[2]
PRODUCTION_DB = "postgres://postgres@127.0.0.1:5432/test"


def _reachable(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=2).close()
    except OSError:
        return False
    return True


def _production_env(**overrides: str) -> dict[str, str]:
    alphabet = string.ascii_letters + string.digits + "!@#%^&*(-_=+)"
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "MLGOV_", "CELERY_")) and k != "REDIS_URL"
    }
    env.update(
        DJANGO_SECRET_KEY="".join(secrets.choice(alphabet) for _ in range(60)),
        DJANGO_HTTPS="1",
        DJANGO_ALLOWED_HOSTS="mlgov.example.org",
        DATABASE_URL=PRODUCTION_DB,
        REDIS_URL="redis://127.0.0.1:6379/0",
        DJANGO_SETTINGS_MODULE="mlgov.settings",
        MLGOV_SIGNING_KEY=generate_private_key_pem(),
    )
    env.update(overrides)
    return env


def _check(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def production_env():
    if not _reachable("127.0.0.1", 5432):
        pytest.skip(
            "PostgreSQL on 127.0.0.1:5432 is not reachable for a production-like DATABASE_URL"
        )
    # As in production, the app connects as a role that is no superuser (audit.W001).
    with app_database_role(PRODUCTION_DB) as url:
        yield _production_env(DATABASE_URL=url)


def test_the_deploy_check_is_clean_in_production(production_env):
    result = _check(production_env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_the_deploy_check_catches_a_site_served_without_https(production_env):
    result = _check({**production_env, "DJANGO_HTTPS": "0"})
    assert result.returncode != 0
    assert "SECURE_SSL_REDIRECT" in result.stderr
