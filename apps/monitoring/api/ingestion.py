"""``/api/v1/ingestion/``: send a file or JSON rows of observations (202 with the batch), and
read batches for their status, counts and row errors. Thin: selectors and services decide."""

from __future__ import annotations

from django.conf import settings
from django_filters import rest_framework as df
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.pagination import CursorPagination
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.response import Response

from apps.core.api.fields import ModelSerializer, SlugRelatedField
from apps.core.api.middleware import UPLOAD_ENVELOPE_BYTES
from apps.core.api.permissions import RulesPermission
from apps.core.errors import ApplicationError
from apps.core.filters import FilterSet
from apps.core.validators import json_problem
from apps.monitoring.choices import BatchStatus, IngestionSource
from apps.monitoring.ingestion import parse, selectors, services
from apps.monitoring.models import IngestionBatch

VIEW = "monitoring.view_ingestionbatch"


class RowErrorSerializer(serializers.Serializer):
    row = serializers.IntegerField(
        help_text="CSV and JSON Lines: line number in the file (the CSV header is line 1); "
        "Parquet and JSON arrays: 1-based row position."
    )
    column = serializers.CharField(help_text="Empty when the whole row is unreadable.")
    value = serializers.CharField(help_text="The rejected value, shortened.")
    reason = serializers.CharField()


class IngestionBatchSerializer(ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:ingestion-detail")
    web_url = serializers.CharField(source="get_absolute_url", read_only=True)
    model = SlugRelatedField(
        source="scope_model", slug_field="slug", read_only=True, help_text="Scope model, if any."
    )
    created_by = SlugRelatedField(slug_field="username", read_only=True)
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    stage_label = serializers.CharField(source="get_stage_display", read_only=True)
    row_errors = RowErrorSerializer(many=True, read_only=True)

    class Meta:
        model = IngestionBatch
        fields = (
            "id",
            "url",
            "web_url",
            "source",
            "model",
            "file_name",
            "file_format",
            "compressed",
            "sha256",
            "size_bytes",
            "accept_partial",
            "status",
            "status_label",
            "stage",
            "stage_label",
            "progress",
            "rows_total",
            "rows_loaded",
            "rows_duplicate",
            "rows_rejected",
            "row_errors",
            "error",
            "created_by",
            "created_at",
            "started_at",
            "finished_at",
        )
        read_only_fields = fields


class IngestionBatchListSerializer(IngestionBatchSerializer):
    """Lists leave the row errors out (read one batch for them)."""

    class Meta(IngestionBatchSerializer.Meta):
        fields = tuple(f for f in IngestionBatchSerializer.Meta.fields if f != "row_errors")
        read_only_fields = fields


class CreatedBatchSerializer(IngestionBatchSerializer):
    duplicate = serializers.BooleanField(
        help_text="True when this content was already sent for this scope: the existing batch "
        "is returned and nothing is loaded again."
    )

    class Meta(IngestionBatchSerializer.Meta):
        fields = (*IngestionBatchSerializer.Meta.fields, "duplicate")
        read_only_fields = fields


@extend_schema_field(OpenApiTypes.STR)
class ScopeModelField(SlugRelatedField):
    """A model named by slug, among those the user may push metrics to."""

    def __init__(self, **kwargs):
        super().__init__(slug_field="slug", **kwargs)

    def get_queryset(self):
        return selectors.push_scope_models(user=self.context["request"].user)

    def to_internal_value(self, data):
        model = super().to_internal_value(data)
        if not selectors.may_push(user=self.context["request"].user, model=model):
            # As for an unknown slug: nothing tells a model out of reach from a missing one.
            self.fail("does_not_exist", slug_name=self.slug_field, value=str(data))
        return model


class UploadSerializer(serializers.Serializer):
    file = serializers.FileField(
        help_text="CSV, Parquet, JSON Lines or JSON; gzip-compressed or not."
    )
    model = ScopeModelField(
        required=False,
        allow_null=True,
        help_text="Slug of the model every row must belong to (optional).",
    )
    accept_partial = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Load the valid rows and report the others, instead of loading nothing.",
    )


class RowsSerializer(serializers.Serializer):
    rows = serializers.ListField(
        child=serializers.DictField(),
        allow_empty=False,
        help_text="Row objects with model, version, metric, value, timestamp and optionally "
        "segment.",
    )
    model = ScopeModelField(
        required=False,
        allow_null=True,
        help_text="Slug of the model every row must belong to (optional).",
    )
    accept_partial = serializers.BooleanField(required=False, default=False)

    def validate_rows(self, rows: list) -> list:
        # The rows are stored as a JSON file and read back by the loader: text the database
        # refuses (NUL) or that cannot be encoded (an unpaired surrogate) is refused here.
        problem = json_problem(rows, max_bytes=settings.MLGOV_INGEST_MAX_BYTES)
        if problem:
            raise serializers.ValidationError(problem)
        return rows


class BatchFilter(FilterSet):
    model = df.CharFilter(field_name="scope_model__slug", help_text="Slug of the scope model.")
    status = df.MultipleChoiceFilter(choices=BatchStatus.choices)
    source = df.MultipleChoiceFilter(choices=IngestionSource.choices)

    class Meta:
        model = IngestionBatch
        fields = ("model", "status", "source")


class BatchCursorPagination(CursorPagination):
    """Keyset pages, newest first: follow ``next`` (``?cursor=``); a late page costs what
    the first does (no OFFSET, no COUNT)."""

    ordering = ("-created_at", "-pk")
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


@extend_schema_view(
    list=extend_schema(summary="List the ingestion batches you may see"),
    retrieve=extend_schema(summary="Read a batch: status, stage, progress, counts, row errors"),
    create=extend_schema(
        summary="Send observations (a file or JSON rows) for loading",
        description="Answers 202 with the queued batch; poll its url until the status is "
        "succeeded, partial or failed. The same content for the same model scope answers 200 "
        "with the existing batch and duplicate=true. A batch is all-or-nothing unless "
        f"accept_partial is set. Limit: MLGOV_INGEST_MAX_BYTES "
        f"({settings.MLGOV_INGEST_MAX_BYTES} bytes by default).",
        request={"multipart/form-data": UploadSerializer, "application/json": RowsSerializer},
        responses={
            202: CreatedBatchSerializer,
            200: OpenApiResponse(CreatedBatchSerializer, description="Already sent."),
        },
    ),
)
class IngestionBatchViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    serializer_class = IngestionBatchSerializer
    permission_classes = [RulesPermission]
    parser_classes = [JSONParser, MultiPartParser]
    filterset_class = BatchFilter
    pagination_class = BatchCursorPagination
    ordering_fields = ("created_at",)
    perms = {
        "list": VIEW,
        "retrieve": VIEW,
        "create": "monitoring.ingest_metrics",
        "retry": "monitoring.retry_ingestionbatch",
    }

    @classmethod
    def request_body_limit(cls) -> int:
        """A body carrying a file up to the ingestion limit (a file just over it is recorded
        as a failed batch by the service); anything larger is refused unread (413)."""
        return settings.MLGOV_INGEST_MAX_BYTES + UPLOAD_ENVELOPE_BYTES

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return IngestionBatch.objects.none()
        qs = selectors.batch_list(user=self.request.user).order_by("-created_at", "-pk")
        return qs if self.action == "list" else qs.defer(None)

    def get_serializer_class(self):
        if self.action == "list":
            return IngestionBatchListSerializer
        return super().get_serializer_class()

    def create(self, request, *args, **kwargs):
        if request.content_type.startswith("multipart/"):
            body = UploadSerializer(data=request.data, context={"request": request})
            body.is_valid(raise_exception=True)
            # The upload as Django spooled it (to disk when large): never read whole here.
            data = body.validated_data["file"]
            file_name = data.name
        else:
            body = RowsSerializer(data=request.data, context={"request": request})
            body.is_valid(raise_exception=True)
            data = parse.json_rows_bytes(body.validated_data["rows"])
            file_name = "rows.json"
        batch, created = services.ingestion_batch_create(
            user=request.user,
            source=IngestionSource.API,
            data=data,
            file_name=file_name,
            scope_model=body.validated_data.get("model"),
            accept_partial=body.validated_data["accept_partial"],
        )
        batch = self.get_queryset().filter(pk=batch.pk).first()
        if batch is None:  # the same content, sent by someone whose batch this user cannot see
            raise ApplicationError("This content was already sent; nothing is loaded twice.")
        batch.duplicate = not created
        answer = CreatedBatchSerializer(batch, context=self.get_serializer_context())
        return Response(answer.data, status=status.HTTP_202_ACCEPTED if created else 200)

    @extend_schema(
        summary="Send a failed or stalled batch again",
        description="A failed batch starts afresh from its stored file; a batch whose job "
        "stalled (its worker died, or it waited too long) is sent to a worker again. For "
        "whoever sent the batch, and administrators. 400 for a batch that is loaded, loading "
        "normally, or whose content is already loaded by another batch.",
        request=None,
        responses={202: IngestionBatchSerializer},
    )
    @action(detail=True, methods=["post"])
    def retry(self, request, pk=None):
        batch = services.ingestion_batch_retry(user=request.user, batch=self.get_object())
        fresh = self.get_queryset().get(pk=batch.pk)
        return Response(self.get_serializer(fresh).data, status=status.HTTP_202_ACCEPTED)
