"""User administration: accounts, roles, password resets and API tokens, all through audited
services.

Roles are chosen on the user form; role groups themselves are fixed (a data migration creates
them), so the Group admin is removed. API tokens are listed (name, user, dates; only digests
are stored, so no key can be shown) and revoked here; they are made by their owners under
/accounts/tokens/ or by the operator with ``manage.py drf_create_token``. Setting a password
or deactivating an account revokes the account's tokens (see ``User.save``).
"""

from __future__ import annotations

import contextvars
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm, AdminUserCreationForm
from django.contrib.auth.forms import UserChangeForm as DjangoUserChangeForm
from django.contrib.auth.models import Group

from apps.accounts.models import AuthToken, User
from apps.accounts.services import (
    USER_EDITABLE_FIELDS,
    auth_token_revoke,
    user_create,
    user_set_password,
    user_set_roles,
    user_update,
)
from apps.core import roles
from apps.core.admin import ServiceModelAdmin

if admin.site.is_registered(Group):
    admin.site.unregister(Group)

# The administrator resetting a password, for the password form's save() (which the stock
# admin view calls without the request).
_acting_admin: contextvars.ContextVar = contextvars.ContextVar("mlgov_acting_admin")

ROLE_CHOICES = [(name, roles.ROLE_LABELS[name]) for name in roles.ALL_ROLES]


def _roles_field() -> forms.MultipleChoiceField:
    return forms.MultipleChoiceField(
        choices=ROLE_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Administrators can open this admin site; see README for what each role may do.",
    )


class UserAddForm(AdminUserCreationForm):
    roles = _roles_field()

    class Meta(AdminUserCreationForm.Meta):
        model = User
        fields = ("username", "first_name", "last_name", "email", "job_title", "timezone")


class UserChangeForm(DjangoUserChangeForm):
    """Profile, active flag and roles; the password hash is shown read-only with a reset link."""

    roles = _roles_field()

    class Meta(DjangoUserChangeForm.Meta):
        model = User
        fields = (*USER_EDITABLE_FIELDS, "password")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["roles"] = sorted(roles.roles_of(self.instance))


class AuditedPasswordChangeForm(AdminPasswordChangeForm):
    """Sets the password through ``user_set_password`` so the reset is audited."""

    def save(self, commit=True):
        password = (
            self.cleaned_data["password1"] if self.cleaned_data["set_usable_password"] else None
        )
        self.user = user_set_password(actor=_acting_admin.get(), user=self.user, password=password)
        return self.user


@admin.register(User)
class UserAdmin(ServiceModelAdmin, DjangoUserAdmin):
    form = UserChangeForm
    add_form = UserAddForm
    change_password_form = AuditedPasswordChangeForm
    list_display = ("username", "first_name", "last_name", "email", "role_list", "is_active")
    list_filter = ("is_active", "groups")
    search_fields = ("username", "first_name", "last_name", "email")
    readonly_fields = ("last_login", "date_joined", "is_staff")
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (
            "Personal info",
            {"fields": ("first_name", "last_name", "email", "job_title", "timezone")},
        ),
        ("Access", {"fields": ("is_active", "roles", "is_staff")}),
        ("Important dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": (
                    "username",
                    "usable_password",
                    "password1",
                    "password2",
                    "first_name",
                    "last_name",
                    "email",
                    "job_title",
                    "timezone",
                    "roles",
                ),
            },
        ),
    )

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups")

    @admin.display(description="roles")
    def role_list(self, obj) -> str:
        names = sorted(g.name for g in obj.groups.all() if g.name in roles.ALL_ROLES)
        return ", ".join(names) or "—"

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj else ()

    def form_data(self, form, *, change: bool) -> dict[str, Any]:
        data = super().form_data(form, change=change)
        data.pop("password", None)  # the read-only hash widget; resets use the password form
        return data

    def service_create(self, request, obj, data):
        usable = data.pop("set_usable_password", True)
        password = data.pop("password1", None) if usable else None
        for name in ("password2", "usable_password"):
            data.pop(name, None)
        role_names = data.pop("roles", ())
        return user_create(
            actor=request.user,
            username=data.pop("username"),
            password=password,
            role_names=role_names,
            **data,
        )

    def service_update(self, request, obj, data):
        role_names = data.pop("roles", None)
        user = obj
        if data:
            user = user_update(actor=request.user, user=obj, **data)
        if role_names is not None:
            user = user_set_roles(actor=request.user, user=user, role_names=role_names)
        return user

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # audit events name their actors; accounts are deactivated, not deleted

    def user_change_password(self, request, id, form_url=""):
        token = _acting_admin.set(request.user)
        try:
            return super().user_change_password(request, id, form_url)
        finally:
            _acting_admin.reset(token)


@admin.register(AuthToken)
class AuthTokenAdmin(ServiceModelAdmin):
    """Everyone's API tokens, read-only; deleting one revokes it through the audited service."""

    list_display = ("name", "user", "scope", "token_key", "created", "expiry", "last_used_at")
    list_filter = ("scope", "expiry")
    search_fields = ("name", "user__username", "token_key")
    list_select_related = ("user",)
    fields = (
        "name",
        "user",
        "scope",
        "token_key",
        "created",
        "expiry",
        "last_used_at",
        "created_by",
    )
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False  # a key would be shown to someone other than its owner

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def service_delete(self, request, obj) -> None:
        auth_token_revoke(actor=request.user, token=obj)
