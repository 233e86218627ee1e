"""Before/after snapshots of model instances for audit events. No queries for plain fields."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import models

from apps.audit.chain import normalise


def field_value(instance: models.Model, name: str) -> Any:
    field = instance._meta.get_field(name)
    if isinstance(field, models.ForeignKey):
        return getattr(instance, field.attname)
    return getattr(instance, name)


def snapshot(instance: models.Model, fields: Iterable[str]) -> dict[str, Any]:
    """JSON-ready values of the given concrete fields (foreign keys as ids)."""
    return normalise({name: field_value(instance, name) for name in fields})


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Only the fields whose value changed, as ``{field: {"before": x, "after": y}}``."""
    changed = {}
    for name in sorted(set(before) | set(after)):
        old, new = before.get(name), after.get(name)
        if old != new:
            changed[name] = {"before": old, "after": new}
    return changed


def created(after: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: {"before": None, "after": value} for name, value in sorted(after.items())}


def deleted(before: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: {"before": value, "after": None} for name, value in sorted(before.items())}
