"""Incidents API: thin. Querysets from selectors (invisible incidents answer 404),
permissions from apps/incidents/rules.py, every write from a service."""

from __future__ import annotations

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.accounts.api.signatures import (
    LOCKED_OUT_RESPONSE,
    SIGNATURE_HELP,
    SignatureChallengeMixin,
    locked_out_answers_429,
)
from apps.core.api.mixins import ServiceWriteMixin, UpdateSerializerMixin
from apps.core.api.permissions import RulesPermission
from apps.incidents import selectors, services
from apps.incidents.api import serializers as s
from apps.incidents.filters import IncidentFilter
from apps.incidents.models import Incident


@extend_schema(tags=["incidents"])
@extend_schema_view(
    list=extend_schema(
        summary="List the incidents of the models you may see",
        description="Every incident unless filtered (the browser list shows active ones).",
    ),
    retrieve=extend_schema(
        summary="Read an incident with its breaches and timeline",
        responses=s.IncidentDetailSerializer,
    ),
    create=extend_schema(summary="Open an incident by hand"),
    partial_update=extend_schema(
        summary="Update an incident's details",
        description="The Art. 73 reporting deadline is recomputed from the awareness time, "
        "the serious category and the widespread flag.",
    ),
)
class IncidentViewSet(
    SignatureChallengeMixin,
    ServiceWriteMixin,
    UpdateSerializerMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """The incident register, looked up by reference (``INC-2026-0001``)."""

    signature_purpose = services.ROLLBACK_SIGNATURE_PURPOSE

    serializer_class = s.IncidentSerializer
    update_serializer_class = s.IncidentUpdateSerializer
    permission_classes = [RulesPermission]
    http_method_names = ["get", "post", "patch", "head", "options"]
    lookup_field = "reference"
    lookup_value_regex = r"[A-Za-z0-9-]+"
    # The shared filterset carries its own ``ordering`` parameter (same as the UI).
    filter_backends = [DjangoFilterBackend]
    filterset_class = IncidentFilter
    perms = {
        "list": "incidents.view_incident",
        "retrieve": "incidents.view_incident",
        "create": "incidents.add_incident",
        "partial_update": "incidents.change_incident",
        "transition": "incidents.transition_incident",
        "comment": "incidents.comment_incident",
        "rollback": "incidents.rollback_incident",
        "signature_challenge": "incidents.rollback_incident",
    }

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Incident.objects.none()
        if self.action == "list":
            return selectors.incident_list(user=self.request.user).prefetch_related(
                "affected_versions"
            )
        return selectors.incident_detail_list(user=self.request.user)

    def get_serializer_class(self):
        if self.action in ("retrieve", "transition"):
            return s.IncidentDetailSerializer
        return super().get_serializer_class()

    def service_create(self, data):
        return services.incident_create(actor=self.request.user, **data)

    def service_update(self, instance, data):
        return services.incident_update(actor=self.request.user, incident=instance, **data)

    @extend_schema(
        summary="Move the incident along its workflow",
        description="open → investigating → mitigated → resolved → closed, reopen from resolved "
        "or closed. Resolving needs the root cause and corrective actions (400 otherwise).",
        request=s.IncidentTransitionSerializer,
        responses=s.IncidentDetailSerializer,
    )
    @action(detail=True, methods=["post"])
    def transition(self, request, reference=None):
        incident = self.get_object()
        body = s.IncidentTransitionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        incident = services.incident_transition(
            actor=request.user, incident=incident, **body.validated_data
        )
        return self._respond(incident)

    @extend_schema(
        summary="Comment on the incident's timeline",
        request=s.IncidentCommentSerializer,
        responses={201: s.IncidentEventSerializer},
    )
    @action(detail=True, methods=["post"])
    def comment(self, request, reference=None):
        incident = self.get_object()
        body = s.IncidentCommentSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        event = services.incident_comment(
            actor=request.user, incident=incident, **body.validated_data
        )
        return Response(s.IncidentEventSerializer(event).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Emergency rollback to the previous production version",
        description="Re-promotes the previous approved production version at once and "
        "requests its ratification after the fact (202 with the approval request). A "
        "production change made at once, so it is signed as an approval decision is. "
        + SIGNATURE_HELP,
        request=s.IncidentRollbackSerializer,
        responses={202: s.ApprovalRequestRefSerializer, 429: LOCKED_OUT_RESPONSE},
    )
    @action(detail=True, methods=["post"])
    def rollback(self, request, reference=None):
        incident = self.get_object()
        body = s.IncidentRollbackSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        credential = self.signature_credential(
            incident, data, signature=services.rollback_signature(incident)
        )
        with locked_out_answers_429():
            services.incident_rollback(
                actor=request.user,
                incident=incident,
                reason=data["reason"],
                credential=credential,
                expected_version=data.get("expected_version", ""),
                http_request=request._request,
            )
        incident.refresh_from_db(fields=["rollback_request"])
        return Response(
            s.ApprovalRequestRefSerializer(incident.rollback_request).data,
            status=status.HTTP_202_ACCEPTED,
        )
