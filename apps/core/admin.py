"""Base classes of mlgov's Django admin: open to the admin role only, writes through services.

The admin is a power-user view on the same data, not a side door: every permission is asked
of the rules (apps/*/rules.py) like everywhere else, and saves and deletes call the app's
services so they are validated and recorded in the audit trail. The admin site itself lets in
active staff users; ``is_staff`` follows the admin role (see apps.accounts.services), and each
module checks the role again.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect

from apps.core import roles
from apps.core.errors import ApplicationError


def is_admin_role(request) -> bool:
    return roles.has_role(request.user, roles.ADMIN)


class ServiceRefused(Exception):
    """A service refused an admin save or delete; carries the original error to show."""

    def __init__(self, error: Exception):
        super().__init__(str(error))
        self.error = error


class RulesAdminMixin:
    """Admin permissions from the rules, and only for users holding the admin role."""

    def _rules_perm(self, request, action: str, obj=None) -> bool:
        opts = self.opts
        perm = f"{opts.app_label}.{action}_{opts.model_name}"
        return is_admin_role(request) and request.user.has_perm(perm, obj)

    def has_module_permission(self, request) -> bool:
        return is_admin_role(request) and self.has_view_permission(request)

    def has_view_permission(self, request, obj=None) -> bool:
        return self._rules_perm(request, "view", obj) or self.has_change_permission(request, obj)

    def has_add_permission(self, request) -> bool:
        return self._rules_perm(request, "add")

    def has_change_permission(self, request, obj=None) -> bool:
        return self._rules_perm(request, "change", obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return self._rules_perm(request, "delete", obj)


class ServiceModelAdmin(RulesAdminMixin, admin.ModelAdmin):
    """A ModelAdmin whose saves and deletes go through services.

    Subclasses implement ``service_create`` / ``service_update`` (each returning the saved
    instance) and ``service_delete`` if deleting is allowed. ``service_m2m_fields`` names
    many-to-many form fields the service sets itself, so the admin must not save them
    directly afterwards. A service's refusal (ApplicationError, PermissionDenied) is shown
    as an error message and nothing is saved.
    """

    service_m2m_fields: tuple[str, ...] = ()

    def service_create(self, request, obj, data: dict[str, Any]):
        raise PermissionDenied("Adding is not available here.")

    def service_update(self, request, obj, data: dict[str, Any]):
        raise PermissionDenied("Changing is not available here.")

    def service_delete(self, request, obj) -> None:
        raise PermissionDenied("Deleting is not available here.")

    def form_data(self, form, *, change: bool) -> dict[str, Any]:
        """Cleaned values to pass to the service: every field on add, changed ones on change."""
        names = form.changed_data if change else list(form.cleaned_data)
        return {name: form.cleaned_data[name] for name in names if name in form.cleaned_data}

    def save_model(self, request, obj, form, change):
        data = self.form_data(form, change=change)
        try:
            if change:
                saved = self.service_update(request, obj, data)
            else:
                saved = self.service_create(request, obj, data)
        except (ApplicationError, PermissionDenied) as exc:
            raise ServiceRefused(exc) from exc
        # The admin goes on to log and redirect with ``obj``: give it the saved identity.
        obj.pk = saved.pk
        obj._state.adding = False
        obj._state.db = saved._state.db

    def save_related(self, request, form, formsets, change):
        # The service has set its many-to-many fields; save only the others.
        for name in self.service_m2m_fields:
            form.cleaned_data.pop(name, None)
        super().save_related(request, form, formsets, change)

    def delete_model(self, request, obj):
        try:
            self.service_delete(request, obj)
        except (ApplicationError, PermissionDenied) as exc:
            raise ServiceRefused(exc) from exc

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ServiceRefused as exc:
            self._report(request, exc.error)
            return HttpResponseRedirect(request.get_full_path())

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except ServiceRefused as exc:
            self._report(request, exc.error)
            return HttpResponseRedirect(request.get_full_path())

    def changelist_view(self, request, extra_context=None):
        try:
            return super().changelist_view(request, extra_context)
        except ServiceRefused as exc:  # a bulk delete refused
            self._report(request, exc.error)
            return HttpResponseRedirect(request.get_full_path())

    def _report(self, request, exc: Exception) -> None:
        if isinstance(exc, ApplicationError):
            text = exc.message
            details = [
                f"{field}: {' '.join(msgs)}"
                for field, msgs in exc.field_errors.items()
                if " ".join(msgs) not in text
            ]
            if details:
                text += " (" + "; ".join(details) + ")"
        else:
            text = str(exc) or "You are not allowed to do this."
        self.message_user(request, text, level=messages.ERROR)


class ReadOnlyModelAdmin(RulesAdminMixin, admin.ModelAdmin):
    """Shown for reference only: records that change through the app's own workflows."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
