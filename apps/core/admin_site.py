"""The Django admin site of mlgov: open to active users holding the admin role only."""

from django.contrib.admin import AdminSite
from django.contrib.admin.apps import AdminConfig

from apps.core import roles


class MlgovAdminSite(AdminSite):
    site_header = "mlgov administration"
    site_title = "mlgov admin"
    index_title = "Users, reference data and inventory records"

    def has_permission(self, request) -> bool:
        # Role, not is_staff alone: a hand-set staff flag must not open the admin.
        return request.user.is_active and roles.has_role(request.user, roles.ADMIN)


class MlgovAdminConfig(AdminConfig):
    default_site = "apps.core.admin_site.MlgovAdminSite"
