"""The filterset of the approval-request list (API)."""

from __future__ import annotations

import django_filters

from apps.approvals import selectors
from apps.approvals.choices import ApprovalKind, RequestStatus
from apps.approvals.models import ApprovalRequest
from apps.core.filters import FilterSet


class ApprovalRequestFilter(FilterSet):
    kind = django_filters.ChoiceFilter(choices=ApprovalKind.choices, label="Kind")
    status = django_filters.ChoiceFilter(choices=RequestStatus.choices, label="Status")
    model = django_filters.CharFilter(field_name="model__slug", label="Slug of the model.")
    waiting_for_me = django_filters.BooleanFilter(
        method="filter_waiting_for_me", label="Only the pending requests you could approve now."
    )

    class Meta:
        model = ApprovalRequest
        fields: list[str] = []

    def filter_waiting_for_me(self, queryset, name, value):
        if not value:
            return queryset
        waiting = selectors.waiting_queryset(user=self.request.user).order_by()
        return queryset.filter(pk__in=waiting.values("pk"))
