"""Filters of API-only lists. Models and datasets reuse apps.inventory.filters (as the UI)."""

from __future__ import annotations

import django_filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from apps.core.filters import FilterSet
from apps.inventory.choices import DeploymentEnvironment, DeploymentStatus, VersionStage
from apps.inventory.filters import RegisteredModelFilter
from apps.inventory.models import Deployment, ModelVersion

# The inventory filterset names business units by code and owners by username; tell the
# schema so (it cannot infer a type from a queryset filter). Schema metadata only.
for _name in ("business_unit", "owner"):
    extend_schema_field(OpenApiTypes.STR)(RegisteredModelFilter.base_filters[_name])


class ModelVersionFilter(FilterSet):
    stage = django_filters.MultipleChoiceFilter(choices=VersionStage.choices, label="Stage")

    class Meta:
        model = ModelVersion
        fields: list[str] = []


class DeploymentFilter(FilterSet):
    model = django_filters.CharFilter(field_name="version__model__slug", label="Model slug")
    environment = django_filters.MultipleChoiceFilter(
        choices=DeploymentEnvironment.choices, label="Environment"
    )
    status = django_filters.ChoiceFilter(choices=DeploymentStatus.choices, label="Status")

    class Meta:
        model = Deployment
        fields: list[str] = []
