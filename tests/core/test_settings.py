"""Settings come from the environment through helpers that fail loudly on bad values."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from apps.core.signing import generate_private_key_pem
from mlgov.env import env_bool, env_int, env_list, env_str
from tests.core.fresh_process import run_with_settings

BASE_DIR = Path(__file__).resolve().parents[2]
PRINT_SETTINGS = (
    "import json, django; django.setup(); from django.conf import settings as s; "
    "print(json.dumps({'engine': s.DATABASES['default']['ENGINE'], "
    "'eager': s.CELERY_TASK_ALWAYS_EAGER, 'debug': s.DEBUG, 'hsts': s.SECURE_HSTS_SECONDS, "
    "'key_len': len(s.SECRET_KEY), 'hosts': s.ALLOWED_HOSTS}))"
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("1", True), ("true", True), ("YES", True), (" on ", True), ("0", False), ("off", False)],
)
def test_env_bool_reads_the_usual_spellings(monkeypatch, raw, expected):
    monkeypatch.setenv("MLGOV_TEST_FLAG", raw)
    assert env_bool("MLGOV_TEST_FLAG") is expected


@pytest.mark.parametrize("raw", ["maybe", "2", "tru"])
def test_env_bool_fails_loudly_on_a_bad_value(monkeypatch, raw):
    monkeypatch.setenv("MLGOV_TEST_FLAG", raw)
    with pytest.raises(ImproperlyConfigured, match="MLGOV_TEST_FLAG must be a boolean"):
        env_bool("MLGOV_TEST_FLAG")


def test_env_helpers_use_the_default_when_unset(monkeypatch):
    monkeypatch.delenv("MLGOV_TEST_VALUE", raising=False)
    assert env_bool("MLGOV_TEST_VALUE", True) is True
    assert env_int("MLGOV_TEST_VALUE", 7) == 7
    assert env_str("MLGOV_TEST_VALUE", "x") == "x"
    assert env_list("MLGOV_TEST_VALUE", ["a"]) == ["a"]


def test_env_int_fails_loudly_on_a_bad_value(monkeypatch):
    monkeypatch.setenv("MLGOV_TEST_VALUE", "thirty")
    with pytest.raises(ImproperlyConfigured, match="MLGOV_TEST_VALUE must be an integer"):
        env_int("MLGOV_TEST_VALUE", 1)
    monkeypatch.setenv("MLGOV_TEST_VALUE", " 42 ")
    assert env_int("MLGOV_TEST_VALUE", 1) == 42


def test_env_list_splits_and_trims(monkeypatch):
    monkeypatch.setenv("MLGOV_TEST_VALUE", " a.example.org, ,b.example.org ")
    assert env_list("MLGOV_TEST_VALUE") == ["a.example.org", "b.example.org"]


def _settings_in_subprocess(tmp_path, **env_values: str) -> subprocess.CompletedProcess:
    return run_with_settings(PRINT_SETTINGS, tmp_path, **env_values)


def test_a_bare_environment_runs_embedded(tmp_path):
    result = _settings_in_subprocess(tmp_path)
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout)
    assert values["engine"] == "django.db.backends.sqlite3"
    assert values["eager"] is True
    assert values["debug"] is False
    assert values["key_len"] >= 50
    assert (tmp_path / "secret_key").exists()


def test_a_database_url_without_a_secret_key_is_refused(tmp_path):
    result = _settings_in_subprocess(
        tmp_path, DATABASE_URL="postgres://postgres@127.0.0.1:5432/mlgov"
    )
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "DJANGO_SECRET_KEY must be set" in result.stderr


def test_production_values_switch_to_postgresql_and_a_broker(tmp_path):
    result = _settings_in_subprocess(
        tmp_path,
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/mlgov",
        REDIS_URL="redis://127.0.0.1:6379/0",
        DJANGO_SECRET_KEY="k" * 60,
        MLGOV_SIGNING_KEY=generate_private_key_pem(),
        DJANGO_HTTPS="true",
        DJANGO_ALLOWED_HOSTS="mlgov.example.org",
    )
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout)
    assert values["engine"] == "django.db.backends.postgresql"
    assert values["eager"] is False
    assert values["hsts"] == 31536000
    assert values["hosts"] == ["mlgov.example.org"]


def test_a_bad_boolean_in_the_environment_stops_start_up(tmp_path):
    result = _settings_in_subprocess(tmp_path, DJANGO_DEBUG="maybe")
    assert result.returncode != 0
    assert "DJANGO_DEBUG must be a boolean" in result.stderr
