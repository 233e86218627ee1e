"""One filterset for report lists, shared by the Reports page and the API."""

from __future__ import annotations

import django_filters

from apps.core.filters import FilterSet, ModelSearchFilter
from apps.reports.choices import ReportKind, ReportStatus
from apps.reports.models import Report


class ReportFilter(FilterSet):
    kind = django_filters.MultipleChoiceFilter(choices=ReportKind.choices, label="Kind")
    status = django_filters.MultipleChoiceFilter(choices=ReportStatus.choices, label="Status")
    model = ModelSearchFilter(
        label="Model",
        help_text="A model's slug, or text its name or slug contains.",
    )
    requested_by = django_filters.CharFilter(
        field_name="requested_by__username",
        label="Requested by (username)",
        help_text="Username of the requester.",
    )

    class Meta:
        model = Report
        fields: list[str] = []
