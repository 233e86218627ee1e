"""Filters of the audit log page."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils import timezone

from apps.audit import kinds
from apps.audit.models import AuditEvent
from apps.audit.selectors import audit_event_scope, model_refs, within_period
from apps.core.widgets import ModelSearchInput

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class AuditEventFilterForm(forms.Form):
    """Governance events or all, model, object type, action, actor and a date range; dates are
    days in the user's own zone. Every filter has an index ending in the sequence
    (apps/audit/models.py), so a page of any filter is one index range; the governance scope
    is a condition on that range (apps/audit/kinds.py). ``on`` is not a filter: it jumps to a
    day."""

    scope = forms.ChoiceField(
        label="Show",
        required=False,
        choices=kinds.SCOPES,
        initial=kinds.GOVERNANCE,
        widget=forms.RadioSelect(attrs={"class": "scope-toggle"}),
        help_text="People's decisions, or every event with the automated ones and sign-ins.",
    )
    model = forms.CharField(
        label="Model",
        required=False,
        max_length=100,
        widget=ModelSearchInput(),
        help_text="Events about one model, its versions, thresholds, reviews and incidents.",
    )
    object_type = forms.ChoiceField(label="Object type", required=False)
    action = forms.ChoiceField(
        label="Action", required=False, choices=[("", "Any"), *AuditEvent.Action.choices]
    )
    actor = forms.CharField(label="Actor (username)", required=False, max_length=150)
    date_from = forms.DateField(label="From", required=False, widget=DATE)
    date_to = forms.DateField(label="To (inclusive)", required=False, widget=DATE)
    on = forms.DateField(label="Jump to", required=False, widget=DATE)

    def __init__(self, data=None, *args, object_types: list[str], **kwargs):
        if data is not None and not data.get("scope"):
            data = data.copy()
            data["scope"] = kinds.GOVERNANCE
        super().__init__(data, *args, **kwargs)
        types = sorted(((t, kinds.type_label(t)) for t in object_types), key=lambda c: c[1])
        self.fields["object_type"].choices = [("", "Any"), *types]

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "The end date is before the start date.")
        return data

    def _day_start(self, day: dt.date) -> dt.datetime:
        return dt.datetime.combine(day, dt.time.min, tzinfo=timezone.get_current_timezone())

    def chosen_scope(self) -> str:
        """Governance events unless every event was asked for (the default, also for a form
        not submitted or not valid)."""
        if self.is_bound and self.is_valid() and self.cleaned_data["scope"] == kinds.EVERYTHING:
            return kinds.EVERYTHING
        return kinds.GOVERNANCE

    def filter(self, queryset):
        """The events matching the valid filters (an invalid form filters nothing but keeps
        to governance events)."""
        queryset = audit_event_scope(queryset, self.chosen_scope())
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
