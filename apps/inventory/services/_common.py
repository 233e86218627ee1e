"""Guards shared by the inventory's writes: reserved names and unique saves."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from apps.core.errors import ApplicationError

# Path segments the browser pages use for their own routes (e.g. /models/new/).
RESERVED_NAMES = frozenset({"new", "edit", "export"})


def _not_reserved(value: str, *, field: str) -> None:
    if value.lower() in RESERVED_NAMES:
        message = f"{value!r} is reserved; choose another {field}."
        raise ApplicationError(message, field_errors={field: [message]})


def _save_unique(instance, *, duplicate_field: str, message: str) -> None:
    try:
        with transaction.atomic():
            instance.save()
    except IntegrityError as exc:
        raise ApplicationError(message, field_errors={duplicate_field: [message]}) from exc
