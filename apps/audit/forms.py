"""Filters of the audit log page."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils import timezone

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class AuditEventFilterForm(forms.Form):
    """Object type, actor and a date range; dates are days in the user's own zone."""

    object_type = forms.ChoiceField(label="Object type", required=False)
    actor = forms.CharField(label="Actor (username)", required=False, max_length=150)
    date_from = forms.DateField(label="From", required=False, widget=DATE)
    date_to = forms.DateField(label="To (inclusive)", required=False, widget=DATE)

    def __init__(self, *args, object_types: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["object_type"].choices = [("", "Any")] + [(t, t) for t in object_types]

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "The end date is before the start date.")
        return data

    def filter(self, queryset):
        """The events matching the valid filters (an invalid form filters nothing)."""
        if not self.is_valid():
            return queryset
        data = self.cleaned_data
        if data["object_type"]:
            queryset = queryset.filter(object_type=data["object_type"])
        if data["actor"].strip():
            queryset = queryset.filter(actor_username__iexact=data["actor"].strip())
        zone = timezone.get_current_timezone()
        if data["date_from"]:
            start = dt.datetime.combine(data["date_from"], dt.time.min, tzinfo=zone)
            queryset = queryset.filter(occurred_at__gte=start)
        if data["date_to"]:
            end = dt.datetime.combine(data["date_to"] + dt.timedelta(days=1), dt.time.min, zone)
            queryset = queryset.filter(occurred_at__lt=end)
        return queryset
