"""Filters of the audit-event API."""

from __future__ import annotations

import django_filters

from apps.audit.models import AuditEvent
from apps.audit.selectors import model_refs, within_period
from apps.core.filters import FilterSet, IsoDateTimeFilter


class AuditEventFilter(FilterSet):
    model = django_filters.CharFilter(
        method="filter_model",
        label="Model slug: events about the model and everything under it",
    )
    object_type = django_filters.CharFilter(label="Object type, e.g. inventory.modelversion")
    object_id = django_filters.CharFilter(label="Object id")
    action = django_filters.MultipleChoiceFilter(choices=AuditEvent.Action.choices)
    actor = django_filters.CharFilter(
        field_name="actor_username", lookup_expr="iexact", label="Actor username (any case)"
    )
    since = IsoDateTimeFilter(method="filter_since", label="On or after (ISO 8601)")
    until = IsoDateTimeFilter(method="filter_until", label="Before (ISO 8601)")

    class Meta:
        model = AuditEvent
        fields: list[str] = []

    def filter_model(self, queryset, name, value):
        # Events carry the model's primary key; a slug resolves only while the model exists,
        # so an unknown (or deleted) model's slug matches nothing. Resolved first, so the
        # events are read on the (model_ref, sequence) index.
        return queryset.filter(model_ref__in=model_refs(value))

    # A period is read as a range of sequences (see within_period): an old week is one index
    # range, not a walk down from the newest event.
    def filter_since(self, queryset, name, value):
        return within_period(queryset, start=value)

    def filter_until(self, queryset, name, value):
        return within_period(queryset, end=value)
