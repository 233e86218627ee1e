"""Administrators edit the review cadence per tier here (through the service, audited)."""

from __future__ import annotations

from django.contrib import admin

from apps.core.admin import ReadOnlyModelAdmin, ServiceModelAdmin
from apps.reviews import services
from apps.reviews.models import ReminderLog, ReviewCadence


@admin.register(ReviewCadence)
class ReviewCadenceAdmin(ServiceModelAdmin):
    list_display = ("tier", "months", "updated_by", "updated_at")
    fields = ("tier", "months")
    readonly_fields = ("tier",)

    def service_update(self, request, obj, data):
        if "months" not in data:
            return obj
        return services.review_cadence_update(
            actor=request.user, cadence=obj, months=data["months"]
        )


@admin.register(ReminderLog)
class ReminderLogAdmin(ReadOnlyModelAdmin):
    list_display = ("model", "finding", "kind", "due_date", "threshold", "sent_at")
    list_filter = ("kind",)
