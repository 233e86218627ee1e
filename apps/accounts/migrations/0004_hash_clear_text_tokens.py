"""Move the clear-text API keys of ``rest_framework.authtoken`` into hashed, expiring tokens.

Each key in ``authtoken_token`` becomes an ``accounts.AuthToken`` holding only its SHA-512
digest (and the 15-character lookup prefix knox keeps), named as migrated and expiring
``MLGOV_TOKEN_TTL_DAYS`` after this migration, so CI pipelines keep working until then. The
clear-text table is then dropped. On a database that never had it, nothing happens.
Reversing keeps the hashed tokens: the clear keys are gone for good, as intended.
"""

from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import migrations
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from knox.crypto import hash_token
from knox.settings import CONSTANTS

LEGACY_TABLE = "authtoken_token"
MIGRATED_NAME = "Token from before hashing (migrated)"


def _as_datetime(value) -> datetime:
    if isinstance(value, str):  # SQLite hands raw timestamps back as text
        value = parse_datetime(value)
    if value is None:
        return timezone.now()
    if timezone.is_naive(value):
        value = timezone.make_aware(value, UTC)
    return value


def copy_clear_text_tokens(apps, schema_editor) -> int:
    """Hash every legacy key into the new table and drop the legacy table; returns how many."""
    connection = schema_editor.connection
    if LEGACY_TABLE not in connection.introspection.table_names():
        return 0
    AuthToken = apps.get_model("accounts", "AuthToken")
    User = apps.get_model("accounts", "User")
    quoted = connection.ops.quote_name(LEGACY_TABLE)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {connection.ops.quote_name('key')}, user_id, created FROM {quoted}")
        rows = cursor.fetchall()
    active = set(
        User.objects.filter(pk__in=[row[1] for row in rows], is_active=True).values_list(
            "pk", flat=True
        )
    )
    expiry = timezone.now() + timedelta(days=settings.MLGOV_TOKEN_TTL_DAYS)
    copied = 0
    for key, user_id, created in rows:
        if user_id not in active:
            continue  # a deactivated account keeps no token
        # Saved directly: knox's manager ``create`` would make a new key.
        token = AuthToken(
            digest=hash_token(key),
            token_key=key[: CONSTANTS.TOKEN_KEY_LENGTH],
            user_id=user_id,
            expiry=expiry,
            name=MIGRATED_NAME,
        )
        token.save()
        AuthToken.objects.filter(pk=token.pk).update(created=_as_datetime(created))
        copied += 1
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {quoted}")
    MigrationRecorder(connection).migration_qs.filter(app="authtoken").delete()
    return copied


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_api_tokens"),
    ]

    operations = [
        migrations.RunPython(copy_clear_text_tokens, reverse_code=migrations.RunPython.noop),
    ]
