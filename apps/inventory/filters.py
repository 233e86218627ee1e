"""One filterset per list, shared by the HTML pages and the API."""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Q

from apps.accounts.models import User
from apps.core.filters import FilterSet
from apps.core.widgets import AnyYesNo, SearchSelectMultiple
from apps.inventory.choices import EUAIActClass, LifecycleStatus, RiskTier
from apps.inventory.health import PRECEDENCE, HealthState
from apps.inventory.health_facts import health_q
from apps.inventory.models import BusinessUnit, Dataset, RegisteredModel

#: The risk-tier filter's value for models whose tier is not yet assessed.
NOT_ASSESSED = "none"


class RiskTierFilter(django_filters.MultipleChoiceFilter):
    """Tiers, and ``none`` for models not yet assessed (no tier), in one list of choices."""

    def filter(self, qs, value):
        if not value:
            return qs
        tiers = [v for v in value if v != NOT_ASSESSED]
        q = Q(risk_tier__in=tiers) if tiers else Q(pk__in=[])
        if NOT_ASSESSED in value:
            q |= Q(risk_tier__isnull=True)
        return qs.filter(q)


class AssessedSelect(forms.NullBooleanSelect):
    """The ``unassessed`` filter in words: "Any" rather than Django's "Unknown"."""

    def __init__(self, attrs=None):
        super().__init__(attrs)
        self.choices = [
            ("unknown", "Any"),
            ("true", "Only models not yet assessed"),
            ("false", "Only assessed models"),
        ]


class DiscoveredSelect(forms.NullBooleanSelect):
    """The ``discovered`` filter in words."""

    def __init__(self, attrs=None):
        super().__init__(attrs)
        self.choices = [
            ("unknown", "Any"),
            ("true", "Only discovered models waiting for an owner"),
            ("false", "Only registered or claimed models"),
        ]


class RegisteredModelFilter(FilterSet):
    q = django_filters.CharFilter(method="search", label="Search")
    # distinct=False: none of these joins a many-valued relation, so no row can repeat, and
    # SELECT DISTINCT over every column would sort the whole result before paging.
    risk_tier = RiskTierFilter(
        choices=[*RiskTier.choices, (NOT_ASSESSED, "Not assessed")],
        label="Risk tier",
        distinct=False,
    )
    # Kept for links and API clients that use it; the tier list's "Not assessed" does the same.
    unassessed = django_filters.BooleanFilter(
        field_name="risk_tier", lookup_expr="isnull", label="Tier assessment", widget=AssessedSelect
    )
    # Models an integration discovered that no model owner has claimed yet.
    discovered = django_filters.BooleanFilter(
        method="filter_discovered", label="Discovered", widget=DiscoveredSelect
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
        widget=SearchSelectMultiple(placeholder="Any business unit"),
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
        field_name="next_review_date",
        lookup_expr="lte",
        label="Review due on or before",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    # The worst state of each model (apps/inventory/health.py), from the facts the apps that
    # own them register: one query with the page, whatever the inventory's size.
    health = django_filters.MultipleChoiceFilter(
        choices=[(state.value, state.label) for state in (*PRECEDENCE, HealthState.OK)],
        method="filter_health",
        label="Health",
        widget=forms.CheckboxSelectMultiple(attrs={"class": "checkbox-list"}),
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
        empty_label="Name (default)",
    )

    class Meta:
        model = RegisteredModel
        fields: list[str] = []

    def filter_discovered(self, queryset, name, value):
        if value is None:
            return queryset
        waiting = Q(discovered_at__isnull=False, claimed_at__isnull=True)
        return queryset.filter(waiting if value else ~waiting)

    def filter_health(self, queryset, name, value):
        return queryset.filter(health_q(value)) if value else queryset

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
    contains_personal_data = django_filters.BooleanFilter(
        label="Contains personal data", widget=AnyYesNo
    )
    owner = django_filters.CharFilter(field_name="owner__username", label="Owner (username)")
    ordering = django_filters.OrderingFilter(
        fields=(("name", "name"), ("updated_at", "updated_at")),
        label="Sort by",
        empty_label="Name (default)",
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
