"""What the audit trail shows of the inventory: business-unit ids in changes are named, and an
event's ``model_ref`` (a registered model's primary key) reads as the model's slug in the API.

Registered with the audit trail (apps/audit/registry.py) in ``InventoryConfig.ready``.
"""

from __future__ import annotations

from apps.audit.registry import (
    FieldNames,
    ModelReference,
    register_field_names,
    register_model_reference,
)
from apps.inventory import selectors


def register_audit_names() -> None:
    register_field_names(
        "business_unit", FieldNames(names=selectors.business_unit_names, missing="unit")
    )
    register_model_reference(
        ModelReference(slugs=selectors.model_slugs, refs=selectors.model_pks_by_slug)
    )
