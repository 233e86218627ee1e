"""Audit-event API: read the trail and verify the hash chain. Auditors, validators, admins."""

from __future__ import annotations

from django.http import Http404
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response

from apps.audit import selectors, services
from apps.audit.api.filters import AuditEventFilter
from apps.audit.api.serializers import (
    AuditEventSerializer,
    ChainVerificationRequestSerializer,
    ChainVerificationSerializer,
)
from apps.audit.models import AuditEvent, ChainVerification
from apps.core.api.permissions import RulesPermission


class AuditEventCursorPagination(CursorPagination):
    """Newest first, a page at a time by sequence: ``next`` / ``previous`` are links carrying
    an opaque ``cursor``; no total count (it would read the whole trail)."""

    ordering = "-sequence"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


@extend_schema(tags=["audit"])
@extend_schema_view(
    list=extend_schema(
        summary="List audit events, newest first",
        description="Cursor-paginated: ``{next, previous, results}``; follow ``next`` for older "
        "events. ``page_size`` (at most 500) sets the page length. Filters combine; each reads "
        "an index, so a page costs the same whatever the trail's size.",
    ),
    retrieve=extend_schema(summary="Read one audit event"),
)
class AuditEventViewSet(viewsets.ReadOnlyModelViewSet):
    """The append-only, hash-chained audit trail."""

    serializer_class = AuditEventSerializer
    permission_classes = [RulesPermission]
    filter_backends = [DjangoFilterBackend]
    filterset_class = AuditEventFilter
    pagination_class = AuditEventCursorPagination
    lookup_value_regex = r"[0-9]+"
    perms = {
        "list": "audit.view_auditevent",
        "retrieve": "audit.view_auditevent",
        "verify": "audit.verify_auditevent",
    }

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return AuditEvent.objects.none()
        return selectors.audit_event_list()

    def get_serializer(self, *args, **kwargs):
        instance = args[0] if args else kwargs.get("instance")
        if instance is not None:
            rows = instance if isinstance(instance, list | tuple) else [instance]
            kwargs.setdefault("context", self.get_serializer_context())
            kwargs["context"]["model_slugs"] = selectors.event_model_slugs(rows)
        return super().get_serializer(*args, **kwargs)

    @extend_schema(
        methods=["GET"],
        summary="The latest verification of the audit chain",
        description="The most recent verification (waiting, running or done) with its "
        "progress and outcome; 404 when none has run yet. POST starts one.",
        responses={200: ChainVerificationSerializer, 404: OpenApiResponse(description="None yet")},
        filters=False,
    )
    @extend_schema(
        methods=["POST"],
        summary="Verify the audit chain (in the background)",
        description="Starts a verification run by a worker and answers 202 with it and a "
        "``Location`` to poll (``/api/v1/audit-verifications/{id}/``); while one is already "
        "waiting or running, answers 202 with that one. The run recomputes the hashes after the "
        "last checkpoint an earlier run proved (anchored by a signed checkpoint), or every hash "
        'from the first event with ``{"full": true}``, compares the end with the recorded '
        "chain head and the chain with the signed checkpoints kept outside the database. When "
        "done, ``ok`` is false and ``broken_sequence`` / ``broken_id`` name the first event "
        "that was altered, removed or reordered, or ``reason`` names the checkpoint the chain "
        "contradicts (cut tail, reset, re-hashed chain).",
        request=ChainVerificationRequestSerializer,
        responses={202: ChainVerificationSerializer},
        filters=False,
    )
    @action(detail=False, methods=["get", "post"])
    def verify(self, request):
        if request.method == "GET":
            run = selectors.verification_latest()
            if run is None:
                raise Http404("No verification has run yet; POST to start one.")
            return Response(ChainVerificationSerializer(run, context={"request": request}).data)
        body = ChainVerificationRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        run, _ = services.verification_request(
            user=request.user,
            full=body.validated_data["full"],
            trigger=ChainVerification.Trigger.API,
        )
        run = selectors.verification_get(run.pk)
        data = ChainVerificationSerializer(run, context={"request": request}).data
        return Response(
            data, status=status.HTTP_202_ACCEPTED, headers={"Location": str(data["url"])}
        )


@extend_schema(tags=["audit"])
@extend_schema_view(
    list=extend_schema(summary="List verifications of the audit chain, newest first"),
    retrieve=extend_schema(summary="Read one verification: its progress, then its outcome"),
)
class ChainVerificationViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Verifications of the audit chain (started with POST /api/v1/audit-events/verify/)."""

    serializer_class = ChainVerificationSerializer
    permission_classes = [RulesPermission]
    filter_backends: list = []
    lookup_value_regex = r"[0-9]+"
    perms = {"list": "audit.verify_auditevent", "retrieve": "audit.verify_auditevent"}

    def get_queryset(self):
        return ChainVerification.objects.select_related("requested_by").order_by("-pk")
