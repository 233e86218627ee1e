"""Who may do what to reviews, findings and the review cadence.

Validators and administrators open reviews and record findings; a finding's owner adds the
remediation evidence and marks it remediated; auditors and viewers read only. Everyone
sees the reviews and findings of the models they see.
"""

from __future__ import annotations

import rules

from apps.core.predicates import has_any_role, is_admin, is_model_owner_role, is_validator
from apps.inventory.rules import can_see_model, develops_model, no_object, owns_model


@rules.predicate
def owns_finding(user, finding) -> bool:
    return finding is not None and getattr(finding, "owner_id", None) == user.pk


oversight = is_admin | is_validator
can_see = has_any_role & can_see_model

rules.add_perm("reviews.view_review", can_see)
rules.add_perm("reviews.add_review", oversight)
rules.add_perm("reviews.change_review", oversight)
rules.add_perm("reviews.submit_review", oversight)

rules.add_perm("reviews.view_finding", can_see)
rules.add_perm("reviews.add_finding", oversight)
rules.add_perm("reviews.change_finding", oversight | (can_see & owns_finding))
# Mirrors approvals.add_approvalrequest, which the engine asks too.
rules.add_perm(
    "reviews.request_risk_acceptance_finding",
    oversight | (is_model_owner_role & (no_object | owns_model | develops_model)),
)

rules.add_perm("reviews.view_reviewcadence", has_any_role)
rules.add_perm("reviews.change_reviewcadence", is_admin)
rules.add_perm("reviews.add_reviewcadence", rules.always_deny)
rules.add_perm("reviews.delete_reviewcadence", rules.always_deny)
rules.add_perm("reviews.view_reminderlog", oversight)
