"""Reports in the admin: read-only, like the audit trail (a report never changes)."""

from __future__ import annotations

from django.contrib import admin

from apps.core.admin import ReadOnlyModelAdmin
from apps.reports.models import Report


@admin.register(Report)
class ReportAdmin(ReadOnlyModelAdmin):
    list_display = (
        "id",
        "kind",
        "format",
        "model",
        "as_of",
        "status",
        "requested_by",
        "requested_at",
        "size",
    )
    list_filter = ("kind", "format", "status")
    search_fields = (
        "filename",
        "sha256",
        "signing_key_id",
        "model__slug",
        "requested_by__username",
    )
    date_hierarchy = "requested_at"
    ordering = ("-requested_at", "-pk")
    list_select_related = ("model", "requested_by")
    actions = None
    readonly_fields = (
        "kind",
        "format",
        "model",
        "scope",
        "as_of",
        "effective_as_of",
        "requested_by",
        "requested_at",
        "status",
        "error",
        "generator",
        "filename",
        "content_type",
        "size",
        "sha256",
        "snapshot_sha256",
        "audit_head_sequence",
        "audit_head_hash",
        "signing_key_id",
        "signature",
        "manifest",
        "file",
        "task_id",
        "attempts",
        "started_at",
        "finished_at",
    )
    fields = readonly_fields
