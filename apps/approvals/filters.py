"""The filterset of the approval-request list (API)."""

from __future__ import annotations

import django_filters

from apps.approvals import selectors
from apps.approvals.choices import ApprovalKind, RequestStatus
from apps.approvals.models import ApprovalRequest
from apps.core.filters import FilterSet, ModelSearchFilter
from apps.core.widgets import AnyYesNo


class ApprovalRequestFilter(FilterSet):
    kind = django_filters.ChoiceFilter(choices=ApprovalKind.choices, label="Kind")
    status = django_filters.ChoiceFilter(
        choices=RequestStatus.choices, label="Status", empty_label="Any"
    )
    model = ModelSearchFilter(
        label="Model", help_text="A model's slug, or text its name or slug contains."
    )
    waiting_for_me = django_filters.BooleanFilter(
        method="filter_waiting_for_me",
        label="Only the pending requests you could approve now.",
        widget=AnyYesNo,
    )

    class Meta:
        model = ApprovalRequest
        fields: list[str] = []

    def filter_waiting_for_me(self, queryset, name, value):
        if not value:
            return queryset
        waiting = selectors.waiting_q(user=self.request.user)
        return queryset.filter(waiting) if waiting is not None else queryset.none()
