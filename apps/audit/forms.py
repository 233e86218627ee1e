"""Filters of the audit log page."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.audit.selectors import model_refs, within_period

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class AuditEventFilterForm(forms.Form):
    """Model, object type, action, actor and a date range; dates are days in the user's own
    zone. Every filter has an index ending in the sequence (apps/audit/models.py), so a page
    of any filter is one index range. ``on`` is not a filter: it jumps to a day."""

    model = forms.CharField(
        label="Model (slug)", required=False, max_length=100, help_text="Events about one model."
    )
    object_type = forms.ChoiceField(label="Object type", required=False)
    action = forms.ChoiceField(
        label="Action", required=False, choices=[("", "Any"), *AuditEvent.Action.choices]
    )
    actor = forms.CharField(label="Actor (username)", required=False, max_length=150)
    date_from = forms.DateField(label="From", required=False, widget=DATE)
    date_to = forms.DateField(label="To (inclusive)", required=False, widget=DATE)
    on = forms.DateField(label="Jump to", required=False, widget=DATE)

    def __init__(self, *args, object_types: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["object_type"].choices = [("", "Any")] + [(t, t) for t in object_types]

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "The end date is before the start date.")
        return data

    def _day_start(self, day: dt.date) -> dt.datetime:
        return dt.datetime.combine(day, dt.time.min, tzinfo=timezone.get_current_timezone())

    def filter(self, queryset):
        """The events matching the valid filters (an invalid form filters nothing)."""
        if not self.is_valid():
            return queryset
        data = self.cleaned_data
        if data["model"].strip():
            queryset = queryset.filter(model_ref__in=model_refs(data["model"].strip()))
        if data["object_type"]:
            queryset = queryset.filter(object_type=data["object_type"])
        if data["action"]:
            queryset = queryset.filter(action=data["action"])
        if data["actor"].strip():
            queryset = queryset.filter(actor_username__iexact=data["actor"].strip())
        start = self._day_start(data["date_from"]) if data["date_from"] else None
        end = self._day_start(data["date_to"] + dt.timedelta(days=1)) if data["date_to"] else None
        return within_period(queryset, start=start, end=end)

    def jump_to(self) -> dt.datetime | None:
        """The end of the day to jump to (the page then starts with its last event)."""
        if not self.is_valid() or not self.cleaned_data["on"]:
            return None
        return self._day_start(self.cleaned_data["on"] + dt.timedelta(days=1))
