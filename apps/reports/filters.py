"""One filterset for report lists, shared by the Reports page and the API."""

from __future__ import annotations

import django_filters

from apps.core.filters import FilterSet
from apps.reports.choices import ReportKind, ReportStatus
from apps.reports.models import Report


class ReportFilter(FilterSet):
    kind = django_filters.MultipleChoiceFilter(choices=ReportKind.choices, label="Kind")
    status = django_filters.MultipleChoiceFilter(choices=ReportStatus.choices, label="Status")
    model = django_filters.CharFilter(
        field_name="model__slug", label="Model (slug)", help_text="Slug of the model."
    )
    requested_by = django_filters.CharFilter(
        field_name="requested_by__username",
        label="Requested by (username)",
        help_text="Username of the requester.",
    )

    class Meta:
        model = Report
        fields: list[str] = []
