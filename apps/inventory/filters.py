"""One filterset per list, shared by the HTML pages and the API."""

from __future__ import annotations

import django_filters
from django.db.models import Q

from apps.accounts.models import User
from apps.core.filters import FilterSet
from apps.inventory.choices import EUAIActClass, LifecycleStatus, RiskTier
from apps.inventory.models import BusinessUnit, Dataset, RegisteredModel


class RegisteredModelFilter(FilterSet):
    q = django_filters.CharFilter(method="search", label="Search")
    # distinct=False: none of these joins a many-valued relation, so no row can repeat, and
    # SELECT DISTINCT over every column would sort the whole result before paging.
    risk_tier = django_filters.MultipleChoiceFilter(
        choices=RiskTier.choices, label="Risk tier", distinct=False
    )
    unassessed = django_filters.BooleanFilter(
        field_name="risk_tier", lookup_expr="isnull", label="Tier not yet assessed"
    )
    status = django_filters.MultipleChoiceFilter(
        choices=LifecycleStatus.choices, label="Status", distinct=False
    )
    eu_ai_act_class = django_filters.MultipleChoiceFilter(
        choices=EUAIActClass.choices, label="EU AI Act class", distinct=False
    )
    business_unit = django_filters.ModelMultipleChoiceFilter(
        field_name="business_unit__code",
        to_field_name="code",
        queryset=BusinessUnit.objects.all(),
        label="Business unit",
        distinct=False,
    )
    # Filter on the user itself (chosen by username): comparing owner__username with the
    # chosen user object would compare against its display name.
    owner = django_filters.ModelChoiceFilter(
        field_name="owner",
        to_field_name="username",
        queryset=User.objects.filter(owned_models__isnull=False).distinct(),
        label="Owner",
    )
    review_due_before = django_filters.DateFilter(
        field_name="next_review_date", lookup_expr="lte", label="Review due on or before"
    )
    ordering = django_filters.OrderingFilter(
        fields=(
            ("name", "name"),
            ("slug", "slug"),
            ("risk_tier", "risk_tier"),
            ("status", "status"),
            ("eu_ai_act_class", "eu_ai_act_class"),
            ("business_unit__name", "business_unit"),
            ("owner__username", "owner"),
            ("next_review_date", "next_review_date"),
            ("updated_at", "updated_at"),
        ),
        label="Sort by",
    )

    class Meta:
        model = RegisteredModel
        fields: list[str] = []

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(name__icontains=value)
            | Q(slug__icontains=value)
            | Q(purpose__icontains=value)
            | Q(description__icontains=value)
            | Q(algorithm__icontains=value)
        )


class DatasetFilter(FilterSet):
    q = django_filters.CharFilter(method="search", label="Search")
    contains_personal_data = django_filters.BooleanFilter(label="Contains personal data")
    owner = django_filters.CharFilter(field_name="owner__username", label="Owner (username)")
    ordering = django_filters.OrderingFilter(
        fields=(("name", "name"), ("updated_at", "updated_at")), label="Sort by"
    )

    class Meta:
        model = Dataset
        fields: list[str] = []

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(name__icontains=value) | Q(slug__icontains=value) | Q(description__icontains=value)
        )
