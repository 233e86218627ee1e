"""One filterset for the incident list page and the API."""

from __future__ import annotations

import django_filters
from django.db.models import Q

from apps.core import clock
from apps.core.filters import FilterSet, ModelSearchFilter
from apps.core.widgets import AnyYesNo, SearchSelectMultiple
from apps.incidents.choices import IncidentStatus, Severity
from apps.incidents.models import Incident


class IncidentFilter(FilterSet):
    q = django_filters.CharFilter(method="search", label="Search")
    status = django_filters.MultipleChoiceFilter(
        choices=IncidentStatus.choices,
        label="Status",
        distinct=False,
        widget=SearchSelectMultiple(placeholder="Any status"),
    )
    severity = django_filters.MultipleChoiceFilter(
        choices=Severity.choices,
        label="Severity",
        distinct=False,
        widget=SearchSelectMultiple(placeholder="Any severity"),
    )
    serious = django_filters.BooleanFilter(
        method="filter_serious", label="Serious incident (Art. 3(49))", widget=AnyYesNo
    )
    overdue = django_filters.BooleanFilter(
        method="filter_overdue", label="Report overdue (Art. 73)", widget=AnyYesNo
    )
    model = ModelSearchFilter(field_name="model")
    ordering = django_filters.OrderingFilter(
        empty_label="Most severe first",
        fields=(
            ("detected_at", "detected_at"),
            ("severity", "severity"),
            ("reporting_deadline", "reporting_deadline"),
            ("reference", "reference"),
        ),
        label="Sort by",
    )

    class Meta:
        model = Incident
        fields: list[str] = []

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(reference__icontains=value) | Q(title__icontains=value))

    def filter_serious(self, queryset, name, value):
        if value is None:
            return queryset
        return (
            queryset.exclude(serious_category="") if value else queryset.filter(serious_category="")
        )

    def filter_overdue(self, queryset, name, value):
        late = Q(reporting_deadline__lt=clock.now(), reported_at__isnull=True)
        if value is None:
            return queryset
        return queryset.filter(late) if value else queryset.exclude(late)
