"""System check: every key that signed a stored report is still among the trusted keys.

A rotation that forgot to keep the old public key (``MLGOV_SIGNING_PUBLIC_KEYS_FILE``) would
leave every report and pack signed before it unverifiable; ``manage.py migrate`` and
``manage.py check --database default`` say so, naming the key ids, before an auditor finds out.
"""

from __future__ import annotations

from django.core.checks import Error, Tags, register
from django.db import DatabaseError

from apps.core.signing import SigningKeyError, installation_keyset


@register(Tags.database)
def signing_keys_cover_stored_reports(app_configs=None, databases=None, **kwargs):
    if not databases or "default" not in databases:
        return []
    from apps.reports.models import Report

    try:
        used = set(
            Report.objects.exclude(signing_key_id="")
            .order_by()
            .values_list("signing_key_id", flat=True)
            .distinct()
        )
    except DatabaseError:  # not migrated yet: nothing is signed
        return []
    try:
        trusted = set(installation_keyset().key_ids())
    except SigningKeyError as exc:
        return [Error(str(exc), id="reports.E002")]
    missing = sorted(used - trusted)
    if not missing:
        return []
    return [
        Error(
            f"Reports signed with key(s) {', '.join(missing)} can no longer be verified: their "
            "public keys are not among this installation's signing keys.",
            hint="Add the retired public key(s) to MLGOV_SIGNING_PUBLIC_KEYS_FILE (PEM or the "
            "JWK set printed by `manage.py signing_keys --format jwks` before the rotation).",
            id="reports.E001",
        )
    ]
