"""Administrators configure MLflow connections here; saves and deletes go through the
services (validated and audited). Runs are read on the connection's own page."""

from __future__ import annotations

from django.contrib import admin

from apps.core.admin import ServiceModelAdmin
from apps.mlflow_sync import services
from apps.mlflow_sync.forms import ConnectionForm
from apps.mlflow_sync.models import MlflowConnection


@admin.register(MlflowConnection)
class MlflowConnectionAdmin(ServiceModelAdmin):
    form = ConnectionForm
    fields = ConnectionForm.Meta.fields
    readonly_fields = ("last_synced_at",)
    list_display = ("name", "tracking_url", "schedule_minutes", "enabled", "last_synced_at")
    list_filter = ("enabled",)
    search_fields = ("name", "tracking_url")
    autocomplete_fields = ("run_as",)

    def get_fields(self, request, obj=None):
        return self.fields + (self.readonly_fields if obj is not None else ())

    def service_create(self, request, obj, data):
        return services.connection_create(actor=request.user, **data)

    def service_update(self, request, obj, data):
        return services.connection_update(actor=request.user, connection=obj, **data)

    def service_delete(self, request, obj):
        services.connection_delete(actor=request.user, connection=obj)
