"""Who may request, decide, withdraw and lift gates. The engine enforces four-eyes itself.

Whether a user sees, owns or develops a request's model, or is its named business owner, is
asked of the predicates the models' app registers (``registry.ModelHooks``): those are read
when a permission is checked, after every app is ready."""

import rules

from apps.approvals.registry import model_hooks
from apps.core.predicates import (
    has_any_role,
    is_admin,
    is_business_owner_role,
    is_model_owner_role,
    is_validator,
)


@rules.predicate
def can_see_model(user, obj) -> bool:
    return model_hooks().can_see(user, obj)


@rules.predicate
def owns_model(user, obj) -> bool:
    return model_hooks().owns(user, obj)


@rules.predicate
def develops_model(user, obj) -> bool:
    return model_hooks().develops(user, obj)


@rules.predicate
def is_named_business_owner(user, obj) -> bool:
    return model_hooks().is_named_business_owner(user, obj)


@rules.predicate
def no_object(user, obj) -> bool:
    return obj is None


@rules.predicate
def is_requester(user, request) -> bool:
    return request is not None and request.requested_by_id == user.pk


rules.add_perm("approvals.view_approvalrequest", has_any_role & can_see_model)
rules.add_perm(
    "approvals.add_approvalrequest",
    is_admin | is_validator | (is_model_owner_role & (no_object | owns_model | develops_model)),
)
rules.add_perm(
    "approvals.decide_approvalrequest",
    can_see_model
    & (is_admin | is_validator | (is_business_owner_role & (no_object | is_named_business_owner))),
)
rules.add_perm("approvals.withdraw_approvalrequest", is_admin | is_requester)
rules.add_perm("approvals.lift_gate", is_admin)
rules.add_perm("approvals.view_gateoverride", has_any_role & can_see_model)
