"""The job outbox, read-only: operators look here for jobs waiting for the broker, re-queued
after a worker died, or given up on."""

from django.contrib import admin

from apps.core.admin import ReadOnlyModelAdmin
from apps.jobs.models import Job


@admin.register(Job)
class JobAdmin(ReadOnlyModelAdmin):
    list_display = (
        "pk",
        "task",
        "object_id",
        "state",
        "runs",
        "send_attempts",
        "available_at",
        "finished_at",
    )
    list_filter = ("state", "task")
    search_fields = ("task", "last_error")
    readonly_fields = [f.name for f in Job._meta.fields]
