"""Business units: the organisational units models are assigned to."""

from __future__ import annotations

from django.db import transaction

from apps.audit import diff
from apps.audit.services import audit_record
from apps.core.services import require_perm, validate_instance
from apps.inventory.models import BusinessUnit
from apps.inventory.services._common import _save_unique


@transaction.atomic
def business_unit_create(*, actor, code: str, name: str) -> BusinessUnit:
    """Add an organisational unit that models can be assigned to."""
    require_perm(actor, "inventory.add_businessunit")
    obj = BusinessUnit(code=code, name=name)
    validate_instance(obj)
    _save_unique(
        obj, duplicate_field="code", message=f"A business unit with code {code!r} already exists."
    )
    audit_record(
        actor=actor,
        action="create",
        obj=obj,
        changes=diff.created(diff.snapshot(obj, ("code", "name"))),
    )
    return obj


@transaction.atomic
def business_unit_update(*, actor, unit: BusinessUnit, code: str, name: str) -> BusinessUnit:
    require_perm(actor, "inventory.change_businessunit", unit)
    unit = BusinessUnit.objects.select_for_update(of=("self",)).get(pk=unit.pk)
    before = diff.snapshot(unit, ("code", "name"))
    unit.code, unit.name = code, name
    validate_instance(unit)
    unit.save()
    changes = diff.diff(before, diff.snapshot(unit, ("code", "name")))
    if changes:
        audit_record(actor=actor, action="update", obj=unit, changes=changes)
    return unit
