"""People who may not fill a model's seat (apps/inventory/accountability.py), for the service,
API and browser tests of who may be named on a model."""

from __future__ import annotations

from apps.core import roles
from apps.inventory import accountability
from tests.factories import UserFactory

SEATS = ["owner", "business_owner", "validator"]
MISFITS = ["no role", "auditor", "viewer", "another role", "inactive"]
# A role that names people on models, but not for this seat.
ANOTHER_ROLE = {
    "owner": roles.BUSINESS_OWNER,
    "business_owner": roles.MODEL_OWNER,
    "validator": roles.BUSINESS_OWNER,
}


def misfit(field: str, kind: str):
    """A person who may not fill the seat ``field``: without a role, in a reading or another
    role, or holding the seat's own role on an inactive account."""
    seat = accountability.SINGLE_SEATS[field]
    if kind == "inactive":
        return UserFactory(username="gone.user", roles=[seat.roles[0]], is_active=False)
    held = {
        "no role": [],
        "auditor": [roles.AUDITOR],
        "viewer": [roles.VIEWER],
        "another role": [ANOTHER_ROLE[field]],
    }[kind]
    return UserFactory(username=f"misfit.{kind.replace(' ', '-')}", roles=held)


def two_hats(*held: str):
    """One person holding two roles (e.g. model owner and business owner)."""
    return UserFactory(username="two.hats", roles=list(held))
