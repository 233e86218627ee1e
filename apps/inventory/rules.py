"""Who may do what to inventory objects: the one place views, API and templates ask.

Oversight roles (admin, validator, auditor, viewer) see the whole inventory; model owners
see the models they own or develop; business owners see the models they are the named
business owner of. Auditors and viewers change nothing. Without an object, a permission
answers "may the user do this to some object at all" (used for menus and list pages).
"""

from __future__ import annotations

import rules
from django.db.models import prefetch_related_objects

from apps.core.predicates import (
    has_any_role,
    is_admin,
    is_business_owner_role,
    is_model_owner_role,
    is_validator,
    reads_audit_log,
    sees_everything,
)
from apps.inventory.choices import VersionStage


def _model_of(obj):
    """The RegisteredModel an inventory object belongs to."""
    from apps.inventory.models import ModelVersion, RegisteredModel

    if obj is None or isinstance(obj, RegisteredModel):
        return obj
    if isinstance(obj, ModelVersion):
        return obj.model
    if hasattr(obj, "version"):
        return obj.version.model
    return getattr(obj, "model", None)


def _developer_ids(model) -> set[int]:
    """The model's developers, read once per model object: the first predicate that needs
    them prefetches them (so a page listing them reads nothing more), and users whose role
    decides the rule first never cost the query."""
    cache = getattr(model, "_prefetched_objects_cache", {})
    if "developers" not in cache and model.pk is not None:
        prefetch_related_objects([model], "developers")
        cache = model._prefetched_objects_cache
    if "developers" in cache:
        return {u.pk for u in cache["developers"]}
    return set()


@rules.predicate
def owns_model(user, obj) -> bool:
    model = _model_of(obj)
    return model is not None and model.owner_id == user.pk


@rules.predicate
def develops_model(user, obj) -> bool:
    model = _model_of(obj)
    return model is not None and user.pk in _developer_ids(model)


@rules.predicate
def discovered_and_develops_model(user, obj) -> bool:
    """The integration's service user that discovered the model and still develops it (the
    claim keeps it on as a developer): it keeps the model in step with its source. The owner
    ends that by removing it from the developers."""
    model = _model_of(obj)
    return (
        model is not None
        and model.discovered_at is not None
        and model.created_by_id == user.pk
        and user.pk in _developer_ids(model)
    )


@rules.predicate
def is_named_business_owner(user, obj) -> bool:
    model = _model_of(obj)
    return model is not None and model.business_owner_id == user.pk


@rules.predicate
def no_object(user, obj) -> bool:
    return obj is None


@rules.predicate
def version_unlocked(user, obj) -> bool:
    return obj is None or not obj.is_locked


@rules.predicate
def awaits_claim(user, obj) -> bool:
    model = _model_of(obj)
    return model is not None and model.awaits_claim


@rules.predicate
def owns_dataset(user, obj) -> bool:
    return obj is not None and obj.owner_id == user.pk


can_see_model = (
    sees_everything
    | (is_model_owner_role & (no_object | owns_model | develops_model))
    | (is_business_owner_role & (no_object | is_named_business_owner))
)
can_edit_model = (
    is_admin
    | is_validator
    | (is_model_owner_role & (no_object | owns_model))
    | (is_business_owner_role & (no_object | is_named_business_owner))
)
can_register_version = is_admin | (is_model_owner_role & (no_object | owns_model | develops_model))

rules.add_perm("inventory.view_registeredmodel", can_see_model)
rules.add_perm("inventory.add_registeredmodel", is_admin | is_model_owner_role)
rules.add_perm("inventory.change_registeredmodel", can_edit_model)
rules.add_perm("inventory.delete_registeredmodel", is_admin)
rules.add_perm(
    "inventory.assess_risk_registeredmodel",
    is_admin | is_validator | (is_model_owner_role & (no_object | owns_model)),
)
rules.add_perm("inventory.decide_risk_registeredmodel", is_admin | is_validator)
rules.add_perm(
    "inventory.transition_registeredmodel",
    is_admin | is_validator | (is_model_owner_role & (no_object | owns_model)),
)
rules.add_perm("inventory.view_history_registeredmodel", reads_audit_log & can_see_model)
rules.add_perm("inventory.register_version_registeredmodel", can_register_version)
# A discovered model waits for a model owner to take it (its purpose, its business owner).
rules.add_perm(
    "inventory.claim_registeredmodel",
    (is_admin | is_model_owner_role) & (no_object | awaits_claim),
)

rules.add_perm("inventory.view_modelversion", can_see_model)
rules.add_perm("inventory.add_modelversion", can_register_version)
rules.add_perm("inventory.change_modelversion", can_register_version & version_unlocked)
rules.add_perm("inventory.delete_modelversion", is_admin & version_unlocked)
rules.add_perm("inventory.promote_modelversion", is_admin | is_validator)


def may_move_version(user, version, target: str | None = None) -> bool:
    """Whether ``user`` may move ``version`` to the stage ``target`` (to some stage, when
    ``target`` is None): the one rule the service, the API and the browser ask.

    An approved (locked) version is moved only by those who promote versions (admins,
    validators): a governance act. An unapproved version is moved by those who edit it (its
    model's owner and developers, admins). Asking for production is open to both, since the
    answer is the same for everyone: production is reached only through an approved
    promotion, and the service says how to request one.
    """
    promotes = user.has_perm("inventory.promote_modelversion", version)
    if version is not None and version.is_locked:
        return promotes
    edits = user.has_perm("inventory.change_modelversion", version)
    if target is None or target == VersionStage.PRODUCTION:
        return edits or promotes
    return edits


@rules.predicate
def moves_version(user, version) -> bool:
    return may_move_version(user, version)


rules.add_perm("inventory.stage_modelversion", moves_version)

rules.add_perm("inventory.view_deployment", can_see_model)
rules.add_perm("inventory.add_deployment", can_register_version)
rules.add_perm("inventory.change_deployment", can_register_version)
rules.add_perm("inventory.delete_deployment", is_admin)

rules.add_perm("inventory.view_modeldependency", has_any_role)
rules.add_perm("inventory.add_modeldependency", can_edit_model)
rules.add_perm("inventory.delete_modeldependency", is_admin)

rules.add_perm("inventory.view_riskassessment", can_see_model)

rules.add_perm("inventory.view_dataset", has_any_role)
rules.add_perm("inventory.add_dataset", is_admin | is_model_owner_role | is_validator)
rules.add_perm(
    "inventory.change_dataset",
    is_admin | ((is_model_owner_role | is_validator) & (no_object | owns_dataset)),
)
rules.add_perm("inventory.delete_dataset", is_admin)

rules.add_perm("inventory.view_businessunit", has_any_role)
rules.add_perm("inventory.add_businessunit", is_admin)
rules.add_perm("inventory.change_businessunit", is_admin)
