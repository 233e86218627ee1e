"""The filterset of the findings list (API)."""

from __future__ import annotations

import django_filters

from apps.core.filters import FilterSet
from apps.core.widgets import AnyYesNo
from apps.reviews import selectors
from apps.reviews.choices import FindingStatus
from apps.reviews.models import Finding


class FindingFilter(FilterSet):
    status = django_filters.ChoiceFilter(
        choices=FindingStatus.choices, label="Status", empty_label="Any"
    )
    overdue = django_filters.BooleanFilter(
        method="filter_overdue", label="Only open findings past their due date.", widget=AnyYesNo
    )

    class Meta:
        model = Finding
        fields: list[str] = []

    def filter_overdue(self, queryset, name, value):
        if not value:
            return queryset
        # The selector's rule, as on the model page and the dashboard.
        overdue = selectors.finding_list(user=self.request.user, overdue_only=True)
        return queryset.filter(pk__in=overdue.values("pk"))
