"""The group-to-role mapping, edited by administrators through audited services, and the
provider identities linked to users (read-only: sign-in and SCIM make them)."""

from __future__ import annotations

from django.contrib import admin

from apps.core.admin import ReadOnlyModelAdmin, ServiceModelAdmin
from apps.identity import services
from apps.identity.models import GroupRoleMapping, ProviderIdentity


@admin.register(GroupRoleMapping)
class GroupRoleMappingAdmin(ServiceModelAdmin):
    list_display = ("group", "role")
    list_filter = ("role",)
    search_fields = ("group",)

    def service_create(self, request, obj, data):
        return services.group_role_mapping_create(actor=request.user, **data)

    def service_update(self, request, obj, data):
        return services.group_role_mapping_update(actor=request.user, mapping=obj, **data)

    def service_delete(self, request, obj):
        services.group_role_mapping_delete(actor=request.user, mapping=obj)


@admin.register(ProviderIdentity)
class ProviderIdentityAdmin(ReadOnlyModelAdmin):
    list_display = ("user", "issuer", "subject", "created_at", "last_login_at")
    list_select_related = ("user",)
    search_fields = ("subject", "user__username", "user__email")
    readonly_fields = ("user", "issuer", "subject", "created_at", "last_login_at")
