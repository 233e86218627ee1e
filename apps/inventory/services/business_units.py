"""Business units: the organisational units models are assigned to."""

from __future__ import annotations

from django.db import transaction

from apps.audit import diff
from apps.audit.models import AuditEvent
from apps.audit.services import audit_record, audited_update
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
        action=AuditEvent.Action.CREATE,
        obj=obj,
        changes=diff.created(diff.snapshot(obj, ("code", "name"))),
    )
    return obj


@transaction.atomic
def business_unit_update(*, actor, unit: BusinessUnit, code: str, name: str) -> BusinessUnit:
    require_perm(actor, "inventory.change_businessunit", unit)
    unit, _ = audited_update(
        unit, actor=actor, data={"code": code, "name": name}, fields=("code", "name")
    )
    return unit
