"""Who may read and change thresholds and metric definitions.

Anyone who sees a model sees its thresholds. The model's owner, validators and admins draft,
edit, submit and revise them; business owners sign them off through the approval engine
only (apps/approvals/rules.py), never by editing them here. Auditors and viewers change
nothing.
"""

from __future__ import annotations

import rules

from apps.accounts.predicates import has_any_role, is_admin, is_model_owner_role, is_validator
from apps.inventory.rules import can_see_model, no_object, owns_model


def _model_of(obj):
    """The RegisteredModel a threshold (or the model itself) belongs to; None without one."""
    from apps.inventory.models import RegisteredModel

    if obj is None or isinstance(obj, RegisteredModel):
        return obj
    return obj.model


def _on_model(predicate, name: str):
    """The model-level ``predicate`` asked about a threshold's model."""

    @rules.predicate(name=name)
    def check(user, obj) -> bool:
        return predicate.test(user, _model_of(obj))

    return check


sees_threshold_model = _on_model(can_see_model, "sees_threshold_model")
owns_threshold_model = _on_model(owns_model, "owns_threshold_model")

can_manage_thresholds = (
    is_admin | is_validator | (is_model_owner_role & (no_object | owns_threshold_model))
)

rules.add_perm("monitoring.view_threshold", has_any_role & sees_threshold_model)
rules.add_perm("monitoring.add_threshold", can_manage_thresholds)
rules.add_perm("monitoring.change_threshold", can_manage_thresholds)
rules.add_perm("monitoring.submit_threshold", can_manage_thresholds)
rules.add_perm("monitoring.revise_threshold", can_manage_thresholds)

rules.add_perm("monitoring.view_metricdefinition", has_any_role)
rules.add_perm("monitoring.add_metricdefinition", is_admin | is_validator)
