"""Drift runs API (``/api/v1/drift-runs/``): list and read the runs of the models you see,
POST two sample files (multipart) to queue one. Thin: selectors restrict, the service
checks and writes."""

from __future__ import annotations

from django.conf import settings
from django.http import Http404
from django_filters import rest_framework as df
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from apps.core.api.fields import (
    DateTimeField,
    ModelSerializer,
    ReferenceField,
    SlugRelatedField,
)
from apps.core.api.middleware import UPLOAD_ENVELOPE_BYTES
from apps.core.api.permissions import RulesPermission
from apps.core.api.schema import REFERENCE_NOT_FOUND
from apps.core.filters import FilterSet
from apps.inventory import selectors as inventory_selectors
from apps.monitoring.choices import DriftRunStatus
from apps.monitoring.drift import selectors, services
from apps.monitoring.models import DriftColumn, DriftRun


class DriftColumnSerializer(ModelSerializer):
    class Meta:
        model = DriftColumn
        fields = ("column", "kind", "method", "score", "threshold", "drifted", "psi")


class DriftRunSerializer(ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:drift-run-detail")
    web_url = serializers.SerializerMethodField()
    model = serializers.CharField(source="version.model.slug", read_only=True)
    version = serializers.CharField(source="version.version", read_only=True)
    created_by = SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = DriftRun
        fields = (
            "id",
            "url",
            "web_url",
            "model",
            "version",
            "status",
            "error",
            "observed_at",
            "reference_name",
            "reference_sha256",
            "reference_rows",
            "current_name",
            "current_sha256",
            "current_rows",
            "columns_total",
            "columns_drifted",
            "drift_share",
            "dataset_drift",
            "batch",
            "created_by",
            "created_at",
            "started_at",
            "finished_at",
        )
        read_only_fields = fields

    def get_web_url(self, run) -> str:
        from django.urls import reverse

        return reverse("monitoring:drift_detail", args=[run.version.model.slug, run.pk])


class DriftRunDetailSerializer(DriftRunSerializer):
    columns = DriftColumnSerializer(many=True, read_only=True)

    class Meta(DriftRunSerializer.Meta):
        fields = (*DriftRunSerializer.Meta.fields, "columns")
        read_only_fields = fields


class DriftRunCreateSerializer(serializers.Serializer):
    model = ReferenceField(help_text="Slug of the model.")
    version = ReferenceField(help_text="Version string of the model's version.")
    reference = serializers.FileField(help_text="Reference sample: CSV or Parquet, gzip allowed.")
    current = serializers.FileField(help_text="Current sample with the same columns.")
    observed_at = DateTimeField(
        required=False,
        allow_null=True,
        help_text="When the current sample was taken (ISO 8601 with zone); default now.",
    )


class DriftRunFilter(FilterSet):
    model = df.CharFilter(field_name="version__model__slug", help_text="Slug of the model.")
    version = df.CharFilter(field_name="version__version", help_text="Version string.")
    status = df.MultipleChoiceFilter(choices=DriftRunStatus.choices)

    class Meta:
        model = DriftRun
        fields = ("model", "version", "status")


@extend_schema(tags=["drift"])
@extend_schema_view(
    list=extend_schema(summary="List drift runs of the models you may see"),
    retrieve=extend_schema(summary="Read a drift run with its per-column results"),
    create=extend_schema(
        summary="Queue a drift run between a reference and a current sample",
        description="Multipart upload. Answers 202 with the run; poll it until its status "
        "is succeeded or failed. The results are also recorded as observations "
        "drift.share, drift.psi.<column> and drift.score.<column>.",
        request={"multipart/form-data": DriftRunCreateSerializer},
        responses={202: DriftRunDetailSerializer, 404: REFERENCE_NOT_FOUND},
    ),
)
class DriftRunViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    permission_classes = [RulesPermission]
    parser_classes = [MultiPartParser, FormParser]
    filterset_class = DriftRunFilter
    ordering_fields = ("created_at", "observed_at")
    perms = {
        "list": "monitoring.view_driftrun",
        "retrieve": "monitoring.view_driftrun",
        "create": "monitoring.run_drift",
        "retry": "monitoring.retry_driftrun",
    }

    @classmethod
    def request_body_limit(cls) -> int:
        """Two samples up to the drift limit each; anything larger is refused unread (413)."""
        return 2 * settings.MLGOV_DRIFT_MAX_BYTES + UPLOAD_ENVELOPE_BYTES

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return DriftRun.objects.none()
        qs = selectors.drift_run_list(user=self.request.user)
        if self.action != "list":
            qs = qs.prefetch_related("columns")
        return qs

    def get_serializer_class(self):
        if self.action == "list":
            return DriftRunSerializer
        if self.action == "create":
            return DriftRunCreateSerializer
        return DriftRunDetailSerializer

    def create(self, request, *args, **kwargs):
        body = DriftRunCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        model = inventory_selectors.model_get(user=request.user, slug=data["model"])
        try:
            version = inventory_selectors.version_get(
                user=request.user, model=model, version=data["version"]
            )
        except Http404:
            raise serializers.ValidationError(
                {"version": [f"{model.slug} has no version {data['version']!r}."]}
            ) from None
        run = services.drift_run_create(
            user=request.user,
            version=version,
            reference=data["reference"],
            current=data["current"],
            observed_at=data.get("observed_at"),
        )
        fresh = self.get_queryset().prefetch_related("columns").get(pk=run.pk)
        serializer = DriftRunDetailSerializer(fresh, context=self.get_serializer_context())
        return Response(serializer.data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        summary="Run a failed or stalled drift run again",
        description="Computes the run again from its stored samples. For whoever started the "
        "run, and administrators. 400 for a run that succeeded or is running normally.",
        request=None,
        responses={202: DriftRunDetailSerializer},
    )
    @action(detail=True, methods=["post"])
    def retry(self, request, pk=None):
        run = services.drift_run_retry(user=request.user, run=self.get_object())
        fresh = self.get_queryset().prefetch_related("columns").get(pk=run.pk)
        serializer = DriftRunDetailSerializer(fresh, context=self.get_serializer_context())
        return Response(serializer.data, status=status.HTTP_202_ACCEPTED)
