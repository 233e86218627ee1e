"""Helpers shared by every app's services."""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models

from apps.core.errors import ApplicationError


def require_perm(actor, perm: str, obj=None) -> None:
    """Defence in depth: services refuse actors the rules do not allow, whatever the caller."""
    if actor is None or not actor.has_perm(perm, obj):
        raise PermissionDenied(f"You are not allowed to do this ({perm}).")


def reject_unknown_fields(data: dict, allowed: Iterable[str]) -> None:
    """Refuse, naming each one, fields a service does not let its callers set."""
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise ApplicationError(
            f"These fields cannot be set here: {', '.join(unknown)}.",
            field_errors={name: ["This field cannot be set here."] for name in unknown},
        )


def validate_instance(
    instance: models.Model, *, exclude: list[str] | None = None, constraints: bool = True
) -> None:
    """Run model validation and turn its errors into one ApplicationError with field messages.
    ``constraints=False`` leaves the unique checks (a query each) to the database's
    constraints, for a caller that turns their IntegrityError into a message itself."""
    try:
        instance.full_clean(
            exclude=exclude, validate_unique=constraints, validate_constraints=constraints
        )
    except ValidationError as exc:
        field_errors = {
            field: [str(m) for m in messages] for field, messages in exc.message_dict.items()
        }
        summary = "; ".join(f"{f}: {' '.join(m)}" for f, m in field_errors.items())
        raise ApplicationError(f"Invalid values — {summary}", field_errors=field_errors) from exc
