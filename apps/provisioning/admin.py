"""SCIM credentials (made here, the secret shown once on the page that follows; revoked by
an action) and, read-only, the provisioned users and the provider's groups."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.template.response import TemplateResponse

from apps.core.admin import ReadOnlyModelAdmin, ServiceModelAdmin
from apps.core.errors import ApplicationError
from apps.provisioning import services
from apps.provisioning.models import ScimCredential, ScimGroup, ScimUser


class ScimCredentialForm(forms.ModelForm):
    days = forms.IntegerField(
        min_value=1,
        max_value=services.MAX_CREDENTIAL_DAYS,
        initial=365,
        help_text="The credential stops working after this many days; make the next one "
        "before then.",
    )

    class Meta:
        model = ScimCredential
        fields = ("name",)


@admin.register(ScimCredential)
class ScimCredentialAdmin(ServiceModelAdmin):
    form = ScimCredentialForm
    list_display = ("name", "prefix", "created_at", "expires_at", "last_used_at", "revoked_at")
    readonly_fields = (
        "prefix",
        "created_at",
        "created_by",
        "expires_at",
        "last_used_at",
        "revoked_at",
    )
    actions = ["revoke"]

    def get_fields(self, request, obj=None):
        return ("name", "days") if obj is None else ("name", *self.readonly_fields)

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else ("name", *self.readonly_fields)

    def has_change_permission(self, request, obj=None) -> bool:
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # revoked, never deleted: audit events name it

    def service_create(self, request, obj, data):
        credential, secret = services.scim_credential_create(
            actor=request.user, name=data["name"], days=data["days"]
        )
        request._mlgov_scim_secret = secret
        return credential

    def response_add(self, request, obj, post_url_continue=None):
        """The secret, once, on the page itself (never in a message stored for later)."""
        return TemplateResponse(
            request,
            "admin/provisioning/scimcredential_created.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "credential": obj,
                "secret": request._mlgov_scim_secret,
                "scim_url": request.build_absolute_uri("/scim/v2/"),
                "title": f"SCIM credential “{obj.name}” made",
            },
        )

    @admin.action(description="Revoke the selected credentials", permissions=["revoke"])
    def revoke(self, request, queryset):
        for credential in queryset:
            try:
                services.scim_credential_revoke(actor=request.user, credential=credential)
            except ApplicationError as exc:
                self.message_user(request, exc.message, level=messages.ERROR)
                return
        self.message_user(request, f"{queryset.count()} credential(s) revoked.")

    def has_revoke_permission(self, request) -> bool:
        return self._rules_perm(request, "change")


@admin.register(ScimUser)
class ScimUserAdmin(ReadOnlyModelAdmin):
    list_display = ("user", "scim_id", "external_id", "created", "modified")
    list_select_related = ("user",)
    search_fields = ("user__username", "external_id", "scim_id")
    readonly_fields = (
        "user",
        "scim_id",
        "external_id",
        "email_type",
        "email_primary",
        "created",
        "modified",
    )


@admin.register(ScimGroup)
class ScimGroupAdmin(ReadOnlyModelAdmin):
    list_display = ("display_name", "external_id", "scim_id", "modified")
    search_fields = ("display_name", "external_id")
    readonly_fields = ("display_name", "external_id", "scim_id", "created", "modified")
    exclude = ("members",)
