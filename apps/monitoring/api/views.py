"""Thresholds and metrics API: thin. Querysets come from selectors (invisible thresholds
answer 404), permissions from apps/monitoring/rules.py, every write from a service."""

from __future__ import annotations

from django_filters import rest_framework as df
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.decorators import action

from apps.core.api.mixins import ServiceWriteMixin, UpdateSerializerMixin
from apps.core.api.permissions import RulesPermission
from apps.monitoring import selectors, services
from apps.monitoring.api import serializers as s
from apps.monitoring.choices import ThresholdStatus
from apps.monitoring.models import MetricDefinition, Threshold

MANAGE = "monitoring.change_threshold"


class ThresholdFilter(df.FilterSet):
    model = df.CharFilter(field_name="model__slug", help_text="Slug of the model.")
    metric = df.CharFilter(field_name="metric__name", help_text="Name of the metric.")
    status = df.MultipleChoiceFilter(choices=ThresholdStatus.choices)

    class Meta:
        model = Threshold
        fields = ("model", "metric", "status")


@extend_schema_view(
    list=extend_schema(summary="List thresholds of the models you may see"),
    retrieve=extend_schema(summary="Read a threshold"),
    create=extend_schema(summary="Draft a threshold"),
    partial_update=extend_schema(
        summary="Edit a draft threshold",
        description="Only drafts are edited; editing one pending sign-off returns it to "
        "draft and its request goes stale. Active thresholds are revised instead.",
    ),
    submit=extend_schema(summary="Submit a draft for sign-off", request=s.SubmitSerializer),
    revise=extend_schema(
        summary="Draft a revision of an active threshold",
        description="The active threshold keeps applying until the revision is signed off.",
        request=None,
    ),
)
class ThresholdViewSet(
    ServiceWriteMixin,
    UpdateSerializerMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = s.ThresholdSerializer
    update_serializer_class = s.ThresholdUpdateSerializer
    permission_classes = [RulesPermission]
    filterset_class = ThresholdFilter
    http_method_names = ["get", "post", "patch", "head", "options"]
    ordering_fields = ("created_at", "review_by")
    perms = {
        "list": "monitoring.view_threshold",
        "retrieve": "monitoring.view_threshold",
        "create": "monitoring.add_threshold",
        "partial_update": MANAGE,
        "submit": "monitoring.submit_threshold",
        "revise": "monitoring.revise_threshold",
    }

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Threshold.objects.none()
        return selectors.threshold_list(user=self.request.user).order_by("-created_at", "-pk")

    def service_create(self, data):
        return services.threshold_create(actor=self.request.user, **data)

    def service_update(self, instance, data):
        return services.threshold_update(actor=self.request.user, threshold=instance, **data)

    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        threshold = self.get_object()
        body = s.SubmitSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.threshold_submit(actor=request.user, threshold=threshold, **body.validated_data)
        return self._respond(threshold)

    @action(detail=True, methods=["post"])
    def revise(self, request, pk=None):
        revision = services.threshold_revise(actor=request.user, threshold=self.get_object())
        return self._respond(revision, 201)


@extend_schema_view(
    list=extend_schema(summary="List metric definitions"),
    create=extend_schema(summary="Define a metric (validators and admins)"),
)
class MetricDefinitionViewSet(
    mixins.ListModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    serializer_class = s.MetricDefinitionSerializer
    permission_classes = [RulesPermission]
    filter_backends = []
    perms = {
        "list": "monitoring.view_metricdefinition",
        "create": "monitoring.add_metricdefinition",
    }

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return MetricDefinition.objects.none()
        return selectors.metric_list().select_related("created_by")

    def perform_create(self, serializer):
        serializer.instance = services.metric_definition_create(
            actor=self.request.user, **serializer.validated_data
        )
