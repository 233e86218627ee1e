"""Local passwords (when allowed) and Django's model permissions (the admin site's) in one
query instead of two.

``rules`` answers mlgov's own permissions; a check it refuses falls through to Django's
ModelBackend, which read the user's and the groups' permissions in two queries on every page
that asked about something the user may not do. Django's model permissions open the admin
site's pages, which only staff reach (``is_staff`` follows the admin role, see
``accounts.services``): for anyone else they are none, with no query; for staff, one query.
"""

from __future__ import annotations

from django.contrib.auth import backends, get_user_model
from django.contrib.auth.models import Permission

from apps.accounts import signin


class ModelBackend(backends.ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        """A local password, unless passwords are switched off (``MLGOV_LOCAL_LOGIN=false``)
        and ``username`` is not a break-glass account (apps/accounts/signin.py)."""
        if username is None:
            username = kwargs.get(get_user_model().USERNAME_FIELD)
        if not signin.local_login_allowed(username or ""):
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)

    def get_all_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not (user_obj.is_staff or user_obj.is_superuser):
            return set()
        if not hasattr(user_obj, "_perm_cache"):
            if user_obj.is_superuser:
                return super().get_all_permissions(user_obj, obj)
            columns = ("content_type__app_label", "codename")
            direct = Permission.objects.filter(user=user_obj).order_by().values_list(*columns)
            grouped = (
                Permission.objects.filter(group__user=user_obj).order_by().values_list(*columns)
            )
            user_obj._perm_cache = {f"{app}.{name}" for app, name in direct.union(grouped)}
        return user_obj._perm_cache
