"""API permission classes backed by the rules in apps/*/rules.py."""

from __future__ import annotations

from rest_framework import permissions

from apps.accounts import roles


class HasAnyRole(permissions.BasePermission):
    """Authenticated and holding at least one mlgov role."""

    message = "Your account has no mlgov role; ask an administrator."

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated and roles.roles_of(request.user))


class RulesPermission(HasAnyRole):
    """Maps each action to a rules permission, per view:

    ``perms = {"list": "app.view_x", "create": "app.add_x", ...}``; object actions are
    checked against the object. Objects outside the user's queryset already answer 404.
    """

    def _perm(self, view) -> str | None:
        action = getattr(view, "action", None) or request_method_action(view)
        return view.perms.get(action)

    def has_permission(self, request, view) -> bool:
        if not super().has_permission(request, view):
            return False
        if getattr(view, "detail", False) and view.action not in getattr(
            view, "model_level_actions", ()
        ):
            return True  # decided per object
        perm = self._perm(view)
        return perm is None or request.user.has_perm(perm)

    def has_object_permission(self, request, view, obj) -> bool:
        perm = self._perm(view)
        return perm is None or request.user.has_perm(perm, obj)


def request_method_action(view) -> str:
    return {"GET": "retrieve", "PUT": "update", "PATCH": "partial_update", "DELETE": "destroy"}.get(
        view.request.method, "create"
    )
