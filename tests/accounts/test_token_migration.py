"""The data migration that ends clear-text API keys: each ``authtoken_token`` key becomes a
hashed token that keeps working until it expires, the clear-text table is dropped, and a
database that never had the table is left alone."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts.models import AuthToken
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

migration = importlib.import_module("apps.accounts.migrations.0004_hash_clear_text_tokens")
LEGACY_KEY = "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b"  # DRF's format: 40 hex characters


def _legacy_table(rows: list[tuple[str, int, str]]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            'CREATE TABLE authtoken_token ("key" varchar(40) NOT NULL PRIMARY KEY, '
            "created timestamp with time zone NOT NULL, user_id bigint NOT NULL UNIQUE)"
            if connection.vendor == "postgresql"
            else 'CREATE TABLE authtoken_token ("key" varchar(40) NOT NULL PRIMARY KEY, '
            "created datetime NOT NULL, user_id bigint NOT NULL UNIQUE)"
        )
        for key, user_id, created in rows:
            cursor.execute(
                'INSERT INTO authtoken_token ("key", created, user_id) VALUES (%s, %s, %s)',
                [key, created, user_id],
            )
    MigrationRecorder(connection).record_applied("authtoken", "0004_alter_tokenproxy_options")


def _run() -> int:
    return migration.copy_clear_text_tokens(apps, SimpleNamespace(connection=connection))


def test_a_clear_text_key_is_hashed_and_keeps_working(model_owner, settings):
    settings.MLGOV_TOKEN_TTL_DAYS = 90
    created = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)
    _legacy_table([(LEGACY_KEY, model_owner.pk, created.isoformat())])

    assert _run() == 1

    token = AuthToken.objects.get(user=model_owner)
    assert token.name == migration.MIGRATED_NAME
    assert token.created == created
    assert timedelta(days=89, hours=23) < token.expiry - timezone.now() <= timedelta(days=90)
    assert LEGACY_KEY not in f"{token.digest} {token.token_key}"
    assert token.token_key == LEGACY_KEY[:15]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {LEGACY_KEY}")
    assert client.get("/api/v1/models/").status_code == 200


def test_the_clear_text_table_and_its_migration_records_are_gone(model_owner):
    _legacy_table([(LEGACY_KEY, model_owner.pk, "2025-03-01 09:30:00")])
    _run()
    assert "authtoken_token" not in connection.introspection.table_names()
    applied = MigrationRecorder(connection).applied_migrations()
    assert not [name for name in applied if name[0] == "authtoken"]


def test_a_deactivated_users_key_is_not_carried_over(model_owner):
    gone = UserFactory(username="gone", is_active=False)
    _legacy_table(
        [
            (LEGACY_KEY, model_owner.pk, "2025-03-01 09:30:00"),
            ("0" * 40, gone.pk, "2025-03-01 09:30:00"),
        ]
    )
    assert _run() == 1
    assert not AuthToken.objects.filter(user=gone).exists()


def test_a_fresh_database_without_the_table_is_left_alone():
    assert "authtoken_token" not in connection.introspection.table_names()
    assert _run() == 0
    assert not AuthToken.objects.exists()
