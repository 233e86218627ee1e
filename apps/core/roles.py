"""Role names. They are Django group names; scripts and tests rely on them, so they are fixed."""

from __future__ import annotations

ADMIN = "admin"
VALIDATOR = "validator"
BUSINESS_OWNER = "business_owner"
MODEL_OWNER = "model_owner"
AUDITOR = "auditor"
VIEWER = "viewer"

ALL_ROLES: tuple[str, ...] = (ADMIN, VALIDATOR, BUSINESS_OWNER, MODEL_OWNER, AUDITOR, VIEWER)

ROLE_LABELS = {
    ADMIN: "Administrator",
    VALIDATOR: "Risk & compliance (validator)",
    BUSINESS_OWNER: "Business owner",
    MODEL_OWNER: "Model owner / developer",
    AUDITOR: "Auditor",
    VIEWER: "Viewer",
}

# Roles that see the whole inventory. Model and business owners see the models they are named on.
OVERSIGHT_ROLES = frozenset({ADMIN, VALIDATOR, AUDITOR, VIEWER})
# Roles allowed to read the audit log.
AUDIT_READER_ROLES = frozenset({ADMIN, VALIDATOR, AUDITOR})
# Roles that never change anything.
READ_ONLY_ROLES = frozenset({AUDITOR, VIEWER})


def roles_of(user) -> frozenset[str]:
    """The role names of a user, cached on the user object for the request."""
    if user is None or not user.is_authenticated or not user.is_active:
        return frozenset()
    cached = getattr(user, "_mlgov_roles", None)
    if cached is None:
        cached = frozenset(user.groups.values_list("name", flat=True)) & frozenset(ALL_ROLES)
        user._mlgov_roles = cached
    return cached


def has_role(user, *names: str) -> bool:
    return bool(roles_of(user) & set(names))
