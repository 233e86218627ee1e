"""The audit trail in the admin: strictly read-only, like everywhere else."""

from __future__ import annotations

from django.contrib import admin

from apps.audit import selectors
from apps.audit.models import AuditEvent, ChainVerification
from apps.core.admin import ReadOnlyModelAdmin


class ObjectTypeFilter(admin.SimpleListFilter):
    """Object types from the app registry, as the audit log offers them: the admin's own
    filter would list the distinct values of the whole trail (a scan of every event)."""

    title = "object type"
    parameter_name = "object_type"

    def lookups(self, request, model_admin):
        return [(label, label) for label in selectors.event_object_types()]

    def queryset(self, request, queryset):
        return queryset.filter(object_type=self.value()) if self.value() else queryset


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyModelAdmin):
    """At a million events the list stays one page of rows and one count: no distinct scans
    for the filters or the date drill-down (a date filter instead), no second count of the
    whole trail. The audit log in the app (keyset pages) is the place to read the trail."""

    list_display = (
        "sequence",
        "occurred_at",
        "actor_username",
        "action",
        "object_type",
        "object_repr",
    )
    list_filter = ("action", ObjectTypeFilter, ("occurred_at", admin.DateFieldListFilter))
    search_fields = ("actor_username", "object_repr", "object_id", "request_id", "hash")
    show_full_result_count = False
    ordering = ("-sequence",)
    actions = None
    readonly_fields = (
        "sequence",
        "occurred_at",
        "actor",
        "actor_username",
        "action",
        "object_type",
        "object_id",
        "object_repr",
        "model_ref",
        "changes",
        "message",
        "request_id",
        "client_ip",
        "prev_hash",
        "hash",
    )
    fields = readonly_fields


@admin.register(ChainVerification)
class ChainVerificationAdmin(ReadOnlyModelAdmin):
    """Verifications of the chain (started from the audit log, the API, the command or the
    nightly schedule): read-only, like the trail they verify."""

    list_display = (
        "pk",
        "requested_at",
        "requested_by",
        "trigger",
        "full",
        "status",
        "base_sequence",
        "target_sequence",
        "verified",
        "ok",
        "duration_ms",
    )
    list_filter = ("status", "ok", "full", "trigger")
    list_select_related = ("requested_by",)
    ordering = ("-pk",)
    actions = None
