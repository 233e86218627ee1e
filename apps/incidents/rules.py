"""Who may read and work on incidents.

Everyone with a role sees the incidents of the models they see. The model's owner and
developers, validators and administrators open incidents, update them, move them along
the workflow and comment. The model's named business owner comments (they answer for the
business impact) but changes nothing else. Only administrators and validators roll a
model back (an emergency change ratified afterwards). Auditors and viewers read only.
"""

from __future__ import annotations

import rules

from apps.core.predicates import (
    has_any_role,
    is_admin,
    is_business_owner_role,
    is_model_owner_role,
    is_validator,
)
from apps.inventory.rules import (
    can_see_model,
    develops_model,
    is_named_business_owner,
    no_object,
    owns_model,
)

responders = (
    is_admin | is_validator | (is_model_owner_role & (no_object | owns_model | develops_model))
)

rules.add_perm("incidents.view_incident", has_any_role & can_see_model)
rules.add_perm("incidents.add_incident", responders)
rules.add_perm("incidents.change_incident", responders)
rules.add_perm("incidents.transition_incident", responders)
rules.add_perm(
    "incidents.comment_incident",
    responders | (is_business_owner_role & (no_object | is_named_business_owner)),
)
rules.add_perm("incidents.rollback_incident", is_admin | is_validator)
rules.add_perm("incidents.view_incidentevent", has_any_role & can_see_model)
