"""Role predicates for django-rules. Every "may this user do X" starts here."""

from __future__ import annotations

import rules

from apps.core import roles


def _role(name: str):
    @rules.predicate(name=f"has_role_{name}")
    def check(user) -> bool:
        return roles.has_role(user, name)

    return check


is_admin = _role(roles.ADMIN)
is_validator = _role(roles.VALIDATOR)
is_business_owner_role = _role(roles.BUSINESS_OWNER)
is_model_owner_role = _role(roles.MODEL_OWNER)
is_auditor = _role(roles.AUDITOR)
is_viewer = _role(roles.VIEWER)


@rules.predicate
def has_any_role(user) -> bool:
    return bool(roles.roles_of(user))


@rules.predicate
def sees_everything(user) -> bool:
    return bool(roles.roles_of(user) & roles.OVERSIGHT_ROLES)


@rules.predicate
def reads_audit_log(user) -> bool:
    return bool(roles.roles_of(user) & roles.AUDIT_READER_ROLES)
