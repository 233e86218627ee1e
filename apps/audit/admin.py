"""The audit trail in the admin: strictly read-only, like everywhere else."""

from __future__ import annotations

from django.contrib import admin

from apps.audit.models import AuditEvent, ChainVerification
from apps.core.admin import ReadOnlyModelAdmin


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyModelAdmin):
    list_display = (
        "sequence",
        "occurred_at",
        "actor_username",
        "action",
        "object_type",
        "object_repr",
    )
    list_filter = ("action", "object_type")
    search_fields = ("actor_username", "object_repr", "object_id", "request_id", "hash")
    date_hierarchy = "occurred_at"
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
