"""``POST /api/v1/lineage/openlineage/``: the OpenLineage intake. Thin: the service validates,
stores and applies the event."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.authentication import BearerTokenAuthentication, TokenAuthentication
from apps.accounts.choices import TokenScope
from apps.core.api.fields import ModelSerializer, SlugRelatedField
from apps.core.api.permissions import RulesPermission
from apps.openlineage import services
from apps.openlineage.api.parsers import OpenLineageJSONParser
from apps.openlineage.choices import EventStatus
from apps.openlineage.models import LineageEvent


class LineageEventSerializer(ModelSerializer):
    job_namespace = serializers.CharField(source="job.namespace", read_only=True)
    job_name = serializers.CharField(source="job.name", read_only=True)
    model = SlugRelatedField(
        source="job.model",
        slug_field="slug",
        read_only=True,
        allow_null=True,
        help_text="The model the job maps to; null while it waits for an administrator.",
    )
    status = serializers.ChoiceField(choices=EventStatus.choices, read_only=True)
    duplicate = serializers.SerializerMethodField(
        help_text="True when this event (run id, event type, event time) was already received: "
        "the stored one is returned and nothing is applied again."
    )

    class Meta:
        model = LineageEvent
        fields = (
            "id",
            "run_id",
            "event_type",
            "event_time",
            "job_namespace",
            "job_name",
            "model",
            "status",
            "outcome",
            "received_at",
            "applied_at",
            "duplicate",
        )
        read_only_fields = fields

    def get_duplicate(self, obj) -> bool:
        return bool(self.context.get("duplicate"))


EXAMPLE_EVENT = {
    "eventType": "COMPLETE",
    "eventTime": "2026-11-24T10:15:00Z",
    "producer": "https://github.com/apache/airflow/tree/providers-openlineage/2.2.0",
    "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
    "run": {"runId": "0192f3b6-5a8e-7c1d-9f00-2b7d6c4e8a10"},
    "job": {
        "namespace": "airflow-prod",
        "name": "credit_scoring.train",
        "facets": {
            "mlgov": {
                "_producer": "https://example.org/pipelines",
                "_schemaURL": "https://mlgov.example.org/openlineage/facets/MlgovJobFacet.json"
                "#/$defs/MlgovJobFacet",
                "model": "credit-scoring",
                "version": "2.1.0",
            }
        },
    },
    "inputs": [{"namespace": "s3://lake", "name": "credit/applications/2026-10.parquet"}],
    "outputs": [{"namespace": "s3://models", "name": "credit-scoring/2.1.0/model.pkl"}],
}


class OpenLineageIntakeView(APIView):
    """Receives OpenLineage RunEvents from pipelines (Airflow, Spark, dbt, or any client of
    the spec). Accepts ``lineage``-scoped tokens as well as ordinary ones, sent as
    ``Authorization: Bearer <key>`` (OpenLineage's ``api_key`` auth) or ``Token <key>``."""

    authentication_classes = [
        TokenAuthentication,
        BearerTokenAuthentication,
        SessionAuthentication,
    ]
    permission_classes = [RulesPermission]
    perms = {"post": "openlineage.send_events"}
    token_scopes = (TokenScope.API, TokenScope.LINEAGE)
    parser_classes = [OpenLineageJSONParser]

    @extend_schema(
        summary="Receive an OpenLineage RunEvent",
        description="One RunEvent of the OpenLineage spec 2-0-x, validated against the "
        "published JSON Schema (and the schemas of the standard facets mlgov knows and of "
        "mlgov's own). A bad event answers 400 with each error keyed by its JSON pointer "
        "(e.g. `/eventTime`, `/run/facets/parent`).\n\n"
        "The job maps to a model by its `mlgov` job facet (`model`, optionally `version`), "
        "else by a naming rule, else it waits for an administrator (status `unmapped`). "
        "Input and output datasets (namespace + name) become mlgov datasets; inputs become "
        "the datasets of the version the facet names; a dataset one model writes and another "
        "reads becomes a model-to-model feed. FAIL and ABORT events are stored, not applied. "
        "Sending the same event again (run id, event type, event time) answers 200 with the "
        "stored event and changes nothing.",
        request=OpenApiTypes.OBJECT,
        examples=[OpenApiExample("Training run completed", value=EXAMPLE_EVENT)],
        responses={
            201: LineageEventSerializer,
            200: OpenApiResponse(LineageEventSerializer, description="Already received."),
            400: OpenApiResponse(description="Not a valid RunEvent; errors by JSON pointer."),
            403: OpenApiResponse(description="The token's user may not send lineage."),
        },
        tags=["lineage"],
    )
    def post(self, request):
        event, created = services.lineage_event_receive(actor=request.user, event=request.data)
        serializer = LineageEventSerializer(event, context={"duplicate": not created})
        return Response(
            serializer.data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )


@extend_schema(exclude=True)
class OpenLineageIntakeWithoutSlashView(OpenLineageIntakeView):
    """The same intake at ``lineage/openlineage`` without the final slash, as transports are
    often configured (Spark's default endpoint has none): a redirect would turn their POST
    into a GET. Left out of the schema, which documents the canonical path."""
