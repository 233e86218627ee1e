"""API permission classes backed by the rules in apps/*/rules.py.

The API asks exactly the questions the browser UI asks (``user.has_perm(perm, obj)``), so the
two can never disagree. Object visibility is decided earlier, by the selectors that build each
view's queryset: an object outside the user's reach is simply not found (404).
"""

from __future__ import annotations

from rest_framework import permissions

from apps.core import roles


class HasAnyRole(permissions.BasePermission):
    """Authenticated and holding at least one mlgov role."""

    message = "Your account has no mlgov role; ask an administrator."

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated and roles.roles_of(request.user))


class RulesPermission(HasAnyRole):
    """Checks the rules permission a view declares for the current action.

    A view sets ``perms = {"list": "app.view_x", "create": "app.add_x", ...}``; a value may
    also be a tuple, meaning "any of these". Plain API views (no viewset action) key ``perms``
    by HTTP method in lower case (``"get"``). Actions missing from ``perms`` are refused, so a
    new action cannot go out unprotected by accident.

    Visibility comes first, as in the browser: an object outside the user's reach answers 404
    whatever the action, because the view's queryset (from a selector) does not contain it.
    Then the permission is checked with ``user.has_perm``:

    - detail actions: against the object itself (``has_object_permission``);
    - collection actions of nested resources: against the parent object the view returns
      from ``get_permission_object()`` (e.g. registering a version checks the model; the
      parent lookup answers 404 when the model is out of reach);
    - other collection actions: without an object ("may this user do this at all?").

    Read-only roles see everything, so their writes always answer 403.
    """

    message = "You are not allowed to do this."

    # Describing an endpoint (OPTIONS) changes nothing; any role may ask.
    ALWAYS_ALLOWED = frozenset({"metadata", "options"})

    def _perms(self, view) -> tuple[str, ...] | None:
        action = getattr(view, "action", None)
        if action is None:
            action = view.request.method.lower()
            if not hasattr(view, action):
                return ()  # no handler for this method: let the view answer 405
        if action in self.ALWAYS_ALLOWED:
            return ()
        perm = getattr(view, "perms", {}).get(action)
        if perm is None:
            return None
        return (perm,) if isinstance(perm, str) else tuple(perm)

    @staticmethod
    def _allowed(user, perms: tuple[str, ...], obj=None) -> bool:
        return not perms or any(user.has_perm(perm, obj) for perm in perms)

    def has_permission(self, request, view) -> bool:
        if not super().has_permission(request, view):
            # Instances live for one request, so the message can be chosen per refusal.
            self.message = HasAnyRole.message
            return False
        perms = self._perms(view)
        if perms is None:
            return False
        if getattr(view, "detail", False):
            return True  # found (or 404) first, then checked in has_object_permission
        get_parent = getattr(view, "get_permission_object", None)
        parent = get_parent() if get_parent is not None else None
        return self._allowed(request.user, perms, parent)

    def has_object_permission(self, request, view, obj) -> bool:
        perms = self._perms(view)
        return perms is not None and self._allowed(request.user, perms, obj)
