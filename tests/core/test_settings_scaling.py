"""Scaling settings at start-up: the optional read replica, and observation retention that is
refused below the legal minimum."""

from __future__ import annotations

import json

import pytest

from apps.core.signing import generate_private_key_pem
from tests.core.fresh_process import run_with_settings

PRINT = (
    "import json, django; django.setup(); from django.conf import settings as s; "
    "from django.db import router; from apps.inventory.models import RegisteredModel as M; "
    "print(json.dumps({'aliases': sorted(s.DATABASES), "
    "'replica': s.DATABASES.get('replica', {}).get('NAME'), "
    "'mirror': s.DATABASES.get('replica', {}).get('TEST', {}).get('MIRROR'), "
    "'read': router.db_for_read(M), 'write': router.db_for_write(M), "
    "'retention': s.MLGOV_OBSERVATION_RETENTION_DAYS}))"
)


def production(**values: str) -> dict[str, str]:
    return {
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/mlgov",
        "DJANGO_SECRET_KEY": "k" * 60,
        "MLGOV_SIGNING_KEY": generate_private_key_pem(),
        **values,
    }


def settings_of(tmp_path, **env: str) -> dict:
    result = run_with_settings(PRINT, tmp_path, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_without_a_replica_there_is_one_database(tmp_path):
    values = settings_of(tmp_path, **production())
    assert values["aliases"] == ["default"] and values["read"] == "default"


def test_a_replica_url_adds_a_replica_alias_mirrored_in_tests(tmp_path):
    values = settings_of(
        tmp_path,
        **production(DATABASE_REPLICA_URL="postgres://reader@replica.internal:5432/mlgov"),
    )
    assert values["aliases"] == ["default", "replica"]
    assert values["replica"] == "mlgov" and values["mirror"] == "default"
    # Outside a reading_from_replica() scope, reads still go to the primary.
    assert values["read"] == values["write"] == "default"


def test_a_replica_without_a_primary_is_refused(tmp_path):
    result = run_with_settings(
        PRINT, tmp_path, DATABASE_REPLICA_URL="postgres://reader@replica.internal:5432/mlgov"
    )
    assert result.returncode != 0
    assert "DATABASE_REPLICA_URL needs DATABASE_URL" in result.stderr


def test_retention_is_unset_by_default_and_kept_when_long_enough(tmp_path):
    assert settings_of(tmp_path)["retention"] is None
    assert settings_of(tmp_path, MLGOV_OBSERVATION_RETENTION_DAYS="")["retention"] is None
    assert settings_of(tmp_path, MLGOV_OBSERVATION_RETENTION_DAYS="183")["retention"] == 183
    assert settings_of(tmp_path, MLGOV_OBSERVATION_RETENTION_DAYS="730")["retention"] == 730


@pytest.mark.parametrize("days", ["182", "30", "0", "-5"])
def test_retention_below_six_months_stops_the_start_up(tmp_path, days):
    result = run_with_settings(PRINT, tmp_path, MLGOV_OBSERVATION_RETENTION_DAYS=days)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert f"MLGOV_OBSERVATION_RETENTION_DAYS={days} is below the legal minimum of 183" in (
        result.stderr
    )
    assert "EU AI Act Art. 19" in result.stderr
