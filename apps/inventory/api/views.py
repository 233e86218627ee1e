"""Inventory API views: thin. Querysets come from selectors (invisible objects answer 404),
permissions from the rules (apps/inventory/rules.py), every write from a service."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import filters, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.api.signatures import (
    LOCKED_OUT_RESPONSE,
    SIGNATURE_HELP,
    SignatureChallengeMixin,
    locked_out_answers_429,
)
from apps.core.api.exceptions import Conflict
from apps.core.api.mixins import (
    ServiceCreateMixin,
    ServiceWriteMixin,
    UpdateSerializerMixin,
    schema_generation,
)
from apps.core.api.pagination import ValuesRows
from apps.core.api.permissions import RulesPermission
from apps.inventory import risk, selectors, services
from apps.inventory.api import serializers as s
from apps.inventory.api.filters import DeploymentFilter, ModelVersionFilter
from apps.inventory.api.nesting import MODEL_SLUG_PARAM, ModelChildMixin
from apps.inventory.filters import DatasetFilter, RegisteredModelFilter
from apps.inventory.models import (
    Dataset,
    Deployment,
    ModelVersion,
    RegisteredModel,
    RiskAssessment,
)

SLUG_REGEX = r"[a-z0-9]+(?:-[a-z0-9]+)*"
# Version strings may contain dots and plus signs (1.4.0, 2.0.0+build.7).
VERSION_REGEX = r"[A-Za-z0-9][A-Za-z0-9._+-]{0,63}"

VIEW_MODEL = "inventory.view_registeredmodel"
CHANGE_MODEL = "inventory.change_registeredmodel"
CHANGE_VERSION = "inventory.change_modelversion"


@extend_schema_view(
    list=extend_schema(
        summary="List the models you may see",
        description="Filters and ordering are those of the inventory page. Each row carries "
        "the fields a list needs (names, owners, tier, EU class, status, review date) and "
        "``url``, the model's full record; ``fields=name,status`` keeps only those fields "
        "(``url`` and ``slug`` always stay).",
        parameters=[
            OpenApiParameter(
                "fields",
                OpenApiTypes.STR,
                description="Comma-separated list fields to return (default: all of them).",
            )
        ],
        tags=["models"],
    ),
    retrieve=extend_schema(summary="Read a model", tags=["models"]),
    create=extend_schema(summary="Register a model", tags=["models"]),
    update=extend_schema(summary="Replace a model's editable fields", tags=["models"]),
    partial_update=extend_schema(summary="Edit some of a model's fields", tags=["models"]),
    destroy=extend_schema(
        summary="Delete a model registered by mistake (admin only)",
        description="Only a model still in development and without versions can be deleted.",
        tags=["models"],
    ),
    signature_challenge=extend_schema(tags=["models"]),
)
class RegisteredModelViewSet(
    SignatureChallengeMixin, ServiceWriteMixin, UpdateSerializerMixin, viewsets.ModelViewSet
):
    """The model inventory, looked up by slug."""

    signature_purpose = services.TRANSITION_SIGNATURE_PURPOSE

    serializer_class = s.RegisteredModelSerializer
    update_serializer_class = s.RegisteredModelUpdateSerializer
    permission_classes = [RulesPermission]
    lookup_field = "slug"
    lookup_value_regex = SLUG_REGEX
    # The shared filterset carries its own ``ordering`` parameter (same as the UI).
    filter_backends = [DjangoFilterBackend]
    filterset_class = RegisteredModelFilter
    perms = {
        "list": VIEW_MODEL,
        "retrieve": VIEW_MODEL,
        "lineage": VIEW_MODEL,
        "create": "inventory.add_registeredmodel",
        "update": CHANGE_MODEL,
        "partial_update": CHANGE_MODEL,
        "destroy": "inventory.delete_registeredmodel",
        "transition": "inventory.transition_registeredmodel",
        "signature_challenge": "inventory.transition_registeredmodel",
    }

    def get_serializer_class(self):
        if self.action == "list":
            return s.RegisteredModelListSerializer
        return super().get_serializer_class()

    def paginate_queryset(self, queryset):
        if self.action == "list":
            # Rows, not objects: the list serializer reads these columns only; the count
            # reads no joined table.
            queryset = ValuesRows(queryset, s.MODEL_LIST_COLUMNS.values())
        return super().paginate_queryset(queryset)

    def get_queryset(self):
        if schema_generation(self):
            return RegisteredModel.objects.none()
        if self.action == "list":
            return selectors.model_list_rows(user=self.request.user)
        return (
            selectors.model_list(user=self.request.user)
            .select_related("risk_assessed_by", "created_by")
            .prefetch_related("developers")
        )

    def service_create(self, data):
        return services.registered_model_create(actor=self.request.user, **data)

    def service_update(self, instance, data):
        return services.registered_model_update(actor=self.request.user, model=instance, **data)

    def destroy(self, request, *args, **kwargs):
        services.registered_model_delete(actor=request.user, model=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Move the model along its lifecycle",
        description="Illegal moves answer 400 with the reason; retirement and every step "
        "backwards need a reason. Taking a model out of production and retiring it are "
        "signed as an approval decision is. " + SIGNATURE_HELP,
        request=s.TransitionSerializer,
        responses={200: s.RegisteredModelSerializer, 429: LOCKED_OUT_RESPONSE},
        tags=["models"],
    )
    @action(detail=True, methods=["post"])
    def transition(self, request, slug=None):
        model = self.get_object()
        body = s.TransitionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        credential = self.signature_credential(
            model, data, signature=services.transition_signature(model, data["target"])
        )
        with locked_out_answers_429():
            model = services.registered_model_transition(
                actor=request.user,
                model=model,
                target=data["target"],
                reason=data["reason"],
                credential=credential,
                http_request=request._request,
            )
        return self._respond(model)

    @extend_schema(
        summary="Lineage graph of one model",
        description="Datasets → versions → deployments, and model → model feeds.",
        responses=s.LineageSerializer,
        filters=False,
        tags=["lineage"],
    )
    @action(detail=True, methods=["get"])
    def lineage(self, request, slug=None):
        return Response(selectors.model_lineage(user=request.user, model=self.get_object()))


@extend_schema(parameters=[MODEL_SLUG_PARAM], tags=["versions"])
@extend_schema_view(
    list=extend_schema(summary="List a model's versions"),
    retrieve=extend_schema(summary="Read a version"),
    create=extend_schema(summary="Register a version"),
    update=extend_schema(summary="Replace a version's editable fields (unapproved only)"),
    partial_update=extend_schema(
        summary="Edit a version (unapproved only)",
        description="Approved versions are immutable evidence and answer 409.",
        responses={200: s.ModelVersionSerializer, 409: OpenApiTypes.OBJECT},
    ),
)
class ModelVersionViewSet(
    SignatureChallengeMixin,
    ServiceWriteMixin,
    ModelChildMixin,
    UpdateSerializerMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Versions of a model, looked up by version string."""

    signature_purpose = services.STAGE_SIGNATURE_PURPOSE

    serializer_class = s.ModelVersionSerializer
    update_serializer_class = s.ModelVersionUpdateSerializer
    permission_classes = [RulesPermission]
    lookup_field = "version"
    lookup_value_regex = VERSION_REGEX
    filter_backends = [DjangoFilterBackend, filters.OrderingFilter]
    filterset_class = ModelVersionFilter
    ordering_fields = ["created_at", "version", "stage"]
    ordering = ["-created_at"]
    perms = {
        "list": "inventory.view_modelversion",
        "retrieve": "inventory.view_modelversion",
        "create": "inventory.add_modelversion",
        "update": CHANGE_VERSION,
        "partial_update": CHANGE_VERSION,
        # May move this version at all; the move itself is checked by the service.
        "stage": "inventory.stage_modelversion",
        "signature_challenge": "inventory.stage_modelversion",
    }

    def get_queryset(self):
        if schema_generation(self):
            return ModelVersion.objects.none()
        return selectors.version_list(user=self.request.user, model=self.get_parent())

    def check_object_permissions(self, request, obj):
        # An approved version is immutable for everyone: say so (409) to those who could
        # otherwise edit it, instead of a bare 403.
        if (
            self.action in ("update", "partial_update")
            and obj.is_locked
            and request.user.has_perm("inventory.register_version_registeredmodel", obj.model)
        ):
            raise Conflict(
                f"Version {obj.version} was approved on {obj.approved_at:%Y-%m-%d} and is "
                "immutable; register a new version instead."
            )
        super().check_object_permissions(request, obj)

    def service_create(self, data):
        return services.model_version_register(
            actor=self.request.user, model=self.get_parent(), **data
        )

    def service_update(self, instance, data):
        return services.model_version_update(actor=self.request.user, version=instance, **data)

    @extend_schema(
        summary="Move a version to another stage",
        description="Development, staging or archived. An unapproved version is moved by its "
        "model's owner, developers or an administrator; an approved one by a validator or an "
        "administrator. Production is reached only through an approved promotion request: "
        "asking for it here answers 400 with that pointer. Taking the production version out "
        "of production is signed as an approval decision is. " + SIGNATURE_HELP,
        request=s.StageSerializer,
        responses={200: s.ModelVersionSerializer, 429: LOCKED_OUT_RESPONSE},
    )
    @action(detail=True, methods=["post"])
    def stage(self, request, model_slug=None, version=None):
        obj = self.get_object()
        body = s.StageSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        credential = self.signature_credential(
            obj, data, signature=services.stage_signature(obj, data["stage"])
        )
        with locked_out_answers_429():
            obj = services.model_version_set_stage(
                actor=request.user,
                version=obj,
                stage=data["stage"],
                credential=credential,
                http_request=request._request,
            )
        return self._respond(obj)


@extend_schema(parameters=[MODEL_SLUG_PARAM], tags=["risk"])
@extend_schema_view(
    list=extend_schema(summary="A model's risk assessments, newest first"),
    retrieve=extend_schema(summary="Read a risk assessment"),
    create=extend_schema(
        summary="Submit the risk questionnaire",
        description="Computes the suggested tier with its rationale; a validator decides.",
        request=s.RiskQuestionnaireSerializer,
        responses={201: s.RiskAssessmentSerializer},
    ),
)
class RiskAssessmentViewSet(
    ServiceCreateMixin,
    ModelChildMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Risk tiering of a model: questionnaires and the validator's decisions."""

    serializer_class = s.RiskAssessmentSerializer
    permission_classes = [RulesPermission]
    lookup_value_regex = r"[0-9]+"
    filter_backends: list = []
    perms = {
        "list": "inventory.view_riskassessment",
        "retrieve": "inventory.view_riskassessment",
        "create": "inventory.assess_risk_registeredmodel",
        "decide": "inventory.decide_risk_registeredmodel",
    }

    def get_queryset(self):
        if schema_generation(self):
            return RiskAssessment.objects.none()
        return selectors.risk_assessment_list(model=self.get_parent()).select_related("model")

    def create(self, request, *args, **kwargs):
        body = s.RiskQuestionnaireSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        answers = {name: data.pop(name) for name in risk.FACTORS}
        assessment = services.risk_assessment_submit(
            actor=request.user, model=self.get_parent(), answers=answers, **data
        )
        return self._respond(assessment, status.HTTP_201_CREATED)

    @extend_schema(
        summary="Propose to confirm or override the suggested tier",
        description="A validator's proposal: overriding needs a reason; EU high-risk and "
        "prohibited models must be Tier 1; the questionnaire's author cannot propose. The "
        "assessment becomes `awaiting_approval` and a risk-tier-change approval request is "
        "made (its id in `approval_request`); the model takes the tier only when another "
        "validator approves that request (`POST /api/v1/approvals/{id}/decide/`).",
        request=s.RiskDecisionSerializer,
        responses=s.RiskAssessmentSerializer,
    )
    @action(detail=True, methods=["post"])
    def decide(self, request, model_slug=None, pk=None):
        assessment = self.get_object()
        body = s.RiskDecisionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        assessment = services.risk_assessment_decide(
            actor=request.user, assessment=assessment, **body.validated_data
        )
        return self._respond(assessment)


@extend_schema(tags=["datasets"])
@extend_schema_view(
    list=extend_schema(summary="List datasets"),
    retrieve=extend_schema(summary="Read a dataset and its datasheet"),
    create=extend_schema(summary="Register a dataset"),
    update=extend_schema(summary="Replace a dataset's editable fields"),
    partial_update=extend_schema(summary="Edit some of a dataset's fields"),
)
class DatasetViewSet(
    ServiceWriteMixin,
    UpdateSerializerMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Datasets, looked up by slug."""

    serializer_class = s.DatasetSerializer
    update_serializer_class = s.DatasetUpdateSerializer
    permission_classes = [RulesPermission]
    lookup_field = "slug"
    lookup_value_regex = SLUG_REGEX
    filter_backends = [DjangoFilterBackend]
    filterset_class = DatasetFilter
    perms = {
        "list": "inventory.view_dataset",
        "retrieve": "inventory.view_dataset",
        "create": "inventory.add_dataset",
        "update": "inventory.change_dataset",
        "partial_update": "inventory.change_dataset",
    }

    def get_queryset(self):
        if schema_generation(self):
            return Dataset.objects.none()
        return selectors.dataset_list(user=self.request.user).select_related("created_by")

    def service_create(self, data):
        return services.dataset_create(actor=self.request.user, **data)

    def service_update(self, instance, data):
        return services.dataset_update(actor=self.request.user, dataset=instance, **data)


@extend_schema(tags=["lineage"])
@extend_schema_view(
    list=extend_schema(summary="List deployments of the models you may see"),
    retrieve=extend_schema(summary="Read a deployment"),
    create=extend_schema(
        summary="Record a deployment of a version",
        description="Name the model by slug and the version by its version string.",
    ),
)
class DeploymentViewSet(
    ServiceCreateMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Where versions serve (lineage edge version → deployment)."""

    serializer_class = s.DeploymentSerializer
    permission_classes = [RulesPermission]
    filter_backends = [DjangoFilterBackend, filters.OrderingFilter]
    filterset_class = DeploymentFilter
    ordering_fields = ["deployed_at", "created_at"]
    ordering = ["-deployed_at"]
    perms = {
        "list": "inventory.view_deployment",
        "retrieve": "inventory.view_deployment",
        "create": "inventory.add_deployment",
    }

    def get_queryset(self):
        if schema_generation(self):
            return Deployment.objects.none()
        return selectors.deployment_list(user=self.request.user).select_related("created_by")

    def service_create(self, data):
        if not self.request.user.has_perm("inventory.add_deployment", data["version"]):
            raise PermissionDenied("You are not allowed to record deployments of this model.")
        return services.deployment_create(actor=self.request.user, **data)


class InventoryLineageView(APIView):
    """The whole inventory graph the user may see; for a big inventory, one model's graph
    (``?model=``) or one page of models at a time (``?limit=`` and ``?cursor=``)."""

    permission_classes = [RulesPermission]
    perms = {"get": VIEW_MODEL}
    MAX_LIMIT = 1000

    @extend_schema(
        summary="Lineage graph of the inventory",
        description="Every model you may see with its versions, their training and evaluation "
        "datasets, their deployments, and model → model feeds. Node ids are stable: "
        "model:<slug>, version:<model-slug>@<version>, dataset:<slug>, deployment:<id>.\n\n"
        "Without parameters the answer is the whole graph (its size grows with the "
        "inventory: ~19 MB at 10,000 models). `model=<slug>` answers that model's graph "
        "(as `models/{slug}/lineage/`). `limit=N` (1-1000) answers the first N models by "
        "slug with their versions, datasets, deployments and the feeds that touch them, and "
        "`next`: pass it as `cursor` for the following page (null on the last).",
        parameters=[
            OpenApiParameter("model", str, description="Slug of one model."),
            OpenApiParameter("limit", int, description="Models per page (1-1000)."),
            OpenApiParameter("cursor", str, description="`next` of the previous page."),
        ],
        responses={
            200: s.InventoryLineageSerializer,
            404: OpenApiResponse(description="`model` names no model among those you may see."),
        },
        tags=["lineage"],
    )
    def get(self, request):
        params = request.query_params
        if params.get("model"):
            model = selectors.model_get(user=request.user, slug=params["model"])
            return Response(selectors.model_lineage(user=request.user, model=model))
        if "limit" not in params and "cursor" not in params:
            return Response(selectors.inventory_lineage(user=request.user))
        try:
            limit = int(params.get("limit", 100))
        except ValueError:
            limit = 0
        if not 1 <= limit <= self.MAX_LIMIT:
            raise ValidationError({"limit": [f"A whole number from 1 to {self.MAX_LIMIT}."]})
        return Response(
            selectors.inventory_lineage(
                user=request.user, after=params.get("cursor") or None, limit=limit
            )
        )
