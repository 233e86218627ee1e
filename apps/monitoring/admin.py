"""Administrators manage the hosts scheduled pulls may fetch from and the pull sources here;
saves and deletes go through the ingestion services (validated and audited)."""

from __future__ import annotations

from django import forms
from django.contrib import admin

from apps.core import egress
from apps.core.admin import ServiceModelAdmin, is_admin_role
from apps.core.templatetags.mlgov import user_link
from apps.monitoring.ingestion import services
from apps.monitoring.models import AllowedPullHost, MetricSource


class ManagedByOnePermission(ServiceModelAdmin):
    """Every admin action is allowed by one rules permission, ``manage_perm``."""

    manage_perm = ""

    def _rules_perm(self, request, action: str, obj=None) -> bool:
        return is_admin_role(request) and request.user.has_perm(self.manage_perm, obj)


class AllowedPullHostForm(forms.ModelForm):
    hostname = forms.CharField(
        max_length=253,
        validators=[egress.validate_host],
        help_text="A host name only. It must resolve to public addresses, unless the operator "
        "allow-listed it (MLGOV_EGRESS_ALLOW).",
    )

    class Meta:
        model = AllowedPullHost
        fields = ("hostname", "note")


@admin.register(AllowedPullHost)
class AllowedPullHostAdmin(ManagedByOnePermission):
    manage_perm = "monitoring.manage_allowedpullhost"
    form = AllowedPullHostForm
    fields = ("hostname", "note")
    list_display = ("hostname", "note", "created_by", "created_at")
    search_fields = ("hostname",)

    def has_change_permission(self, request, obj=None) -> bool:
        # A host is added or removed, never renamed (sources point at it by name).
        return obj is None and super().has_change_permission(request, obj)

    def service_create(self, request, obj, data):
        return services.allowed_pull_host_create(actor=request.user, **data)

    def service_delete(self, request, obj):
        services.allowed_pull_host_delete(actor=request.user, host=obj)


class MetricSourceForm(forms.ModelForm):
    url = forms.URLField(
        label="URL",
        max_length=500,
        assume_scheme="https",
        validators=[egress.validate_url],
        help_text="https:// only, on a host of the allowed pull hosts.",
    )

    class Meta:
        model = MetricSource
        fields = ("model", "url", "format", "interval_minutes", "enabled")


@admin.register(MetricSource)
class MetricSourceAdmin(ManagedByOnePermission):
    manage_perm = "monitoring.manage_metricsource"
    form = MetricSourceForm
    fields = ("model", "url", "format", "interval_minutes", "enabled")
    readonly_fields = ("last_pulled_at", "last_error")
    list_display = ("model", "url_link", "format", "interval_minutes", "enabled", "last_pulled_at")
    list_filter = ("enabled", "format")
    list_select_related = ("model",)
    autocomplete_fields = ("model",)  # a search box, not a select of the whole inventory

    @admin.display(description="URL", ordering="url")
    def url_link(self, obj) -> str:
        # Through the one helper for user-entered URLs: a link only if it is http(s).
        return user_link(obj.url)

    def get_fields(self, request, obj=None):
        return self.fields + (self.readonly_fields if obj is not None else ())

    def service_create(self, request, obj, data):
        return services.metric_source_create(actor=request.user, **data)

    def service_update(self, request, obj, data):
        return services.metric_source_update(actor=request.user, source=obj, **data)

    def service_delete(self, request, obj):
        services.metric_source_delete(actor=request.user, source=obj)
