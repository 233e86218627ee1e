"""The count of approvals waiting for the signed-in user, for the navigation badge."""

from __future__ import annotations

from functools import cache

from apps.core import roles

#: Roles that request or decide approvals; auditors and viewers do neither, so their
#: navigation has no "My approvals".
APPROVAL_ROLES = frozenset({roles.ADMIN, roles.VALIDATOR, roles.BUSINESS_OWNER, roles.MODEL_OWNER})


def approvals(request):
    """``approvals_waiting`` is computed when a template first reads it (2 queries at most),
    and only for signed-in users holding a role that requests or decides approvals."""
    user = getattr(request, "user", None)
    if user is None or not roles.roles_of(user) & APPROVAL_ROLES:
        return {}

    @cache
    def waiting() -> int:
        from apps.approvals.selectors import waiting_count

        return waiting_count(user=user)

    return {"approvals_waiting": waiting}
