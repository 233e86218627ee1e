"""Who may read and change thresholds and metric definitions.

Anyone who sees a model sees its thresholds. The model's owner, validators and admins draft,
edit, submit and revise them; business owners sign them off through the approval engine
only (apps/approvals/rules.py), never by editing them here. Auditors and viewers change
nothing.
"""

from __future__ import annotations

import rules

from apps.core.predicates import (
    has_any_role,
    is_admin,
    is_model_owner_role,
    is_validator,
    sees_everything,
)
from apps.inventory.models import ModelVersion, RegisteredModel
from apps.inventory.rules import (
    can_see_model,
    discovered_and_develops_model,
    no_object,
    owns_model,
)


def _model_of(obj):
    """The RegisteredModel a threshold, drift run, source (or the model itself) belongs to;
    None without one. A version or anything with a ``version`` resolves through it."""
    if obj is None or isinstance(obj, RegisteredModel):
        return obj
    if isinstance(obj, ModelVersion):
        return obj.model
    if hasattr(obj, "model"):
        return obj.model
    return obj.version.model


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

# --- observations, ingestion batches, drift -------------------------------------------------
# Metrics are pushed by the model's team (owner and developers), validators and admins. A
# batch is seen by whoever sees its scope model; a batch without a scope model (a file with
# rows of several models) by its uploader and the oversight roles. Loading a row checks the
# pusher may push for that row's model (apps/monitoring/ingestion/).


@rules.predicate
def _batch_visible(user, batch) -> bool:
    if batch is None:
        return True
    if batch.scope_model_id is not None:
        return can_see_model.test(user, batch.scope_model)
    return batch.created_by_id == user.pk or sees_everything.test(user)


can_push_metrics = (
    is_admin | is_validator | (is_model_owner_role & (no_object | owns_threshold_model))
)

# The integration that discovered a model (an MLflow sync's service user) keeps pushing the
# metrics it finds after an owner claims the model, as long as it stays a developer of it.
syncs_threshold_model = _on_model(discovered_and_develops_model, "syncs_threshold_model")
rules.add_perm(
    "monitoring.ingest_metrics", can_push_metrics | (is_model_owner_role & syncs_threshold_model)
)
rules.add_perm("monitoring.view_ingestionbatch", has_any_role & _batch_visible)
rules.add_perm("monitoring.view_observation", has_any_role & sees_threshold_model)
rules.add_perm("monitoring.run_drift", can_push_metrics)
rules.add_perm("monitoring.view_driftrun", has_any_role & sees_threshold_model)


@rules.predicate
def _sent_it(user, record) -> bool:
    """The user sent this batch or started this drift run."""
    return record is not None and record.created_by_id == user.pk


# A failed or stalled job is sent again by whoever started it (or an administrator).
rules.add_perm(
    "monitoring.retry_ingestionbatch", has_any_role & _batch_visible & (is_admin | _sent_it)
)
rules.add_perm(
    "monitoring.retry_driftrun", has_any_role & sees_threshold_model & (is_admin | _sent_it)
)
rules.add_perm("monitoring.view_metricsource", has_any_role & sees_threshold_model)
rules.add_perm("monitoring.manage_metricsource", is_admin)
rules.add_perm("monitoring.manage_allowedpullhost", is_admin)
