"""The count of approvals waiting for the signed-in user, for the navigation badge."""

from __future__ import annotations

from functools import cache

from apps.core import roles
from apps.core.navigation import nav_counts

#: Roles that request or decide approvals; auditors and viewers do neither, so their
#: navigation has no "My approvals".
APPROVAL_ROLES = frozenset({roles.ADMIN, roles.VALIDATOR, roles.BUSINESS_OWNER, roles.MODEL_OWNER})


def waiting_counter(user):
    """The navigation's count of requests waiting for ``user`` (``apps.core.navigation``):
    the inbox's query, for users holding a role that requests or decides approvals."""
    if not roles.roles_of(user) & APPROVAL_ROLES:
        return None
    from apps.approvals.selectors import waiting_queryset

    return waiting_queryset(user=user)


def approvals(request):
    """``approvals_waiting`` is computed when a template first reads it (with the other
    navigation counts, one query), and only for signed-in users holding a role that requests
    or decides approvals."""
    user = getattr(request, "user", None)
    if user is None or not roles.roles_of(user) & APPROVAL_ROLES:
        return {}

    @cache
    def waiting() -> int:
        return nav_counts(request)["approvals_waiting"] or 0

    return {"approvals_waiting": waiting}
