"""Audit-event API: read the trail and verify the hash chain. Auditors, validators, admins."""

from __future__ import annotations

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.audit import selectors
from apps.audit.api.filters import AuditEventFilter
from apps.audit.api.serializers import AuditEventSerializer, AuditVerificationSerializer
from apps.audit.models import AuditEvent
from apps.core.api.permissions import RulesPermission


@extend_schema(tags=["audit"])
@extend_schema_view(
    list=extend_schema(summary="List audit events, newest first"),
    retrieve=extend_schema(summary="Read one audit event"),
)
class AuditEventViewSet(viewsets.ReadOnlyModelViewSet):
    """The append-only, hash-chained audit trail."""

    serializer_class = AuditEventSerializer
    permission_classes = [RulesPermission]
    filter_backends = [DjangoFilterBackend]
    filterset_class = AuditEventFilter
    lookup_value_regex = r"[0-9]+"
    perms = {
        "list": "audit.view_auditevent",
        "retrieve": "audit.view_auditevent",
        "verify": "audit.verify_auditevent",
    }

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return AuditEvent.objects.none()
        # The actor's username is stored on the event; no join needed.
        return selectors.audit_event_list().select_related(None)

    def get_serializer(self, *args, **kwargs):
        instance = args[0] if args else kwargs.get("instance")
        if instance is not None:
            rows = instance if isinstance(instance, list | tuple) else [instance]
            kwargs.setdefault("context", self.get_serializer_context())
            kwargs["context"]["model_slugs"] = selectors.event_model_slugs(rows)
        return super().get_serializer(*args, **kwargs)

    @extend_schema(
        summary="Verify the audit chain",
        description="Recomputes every hash in sequence order, compares the end with the "
        "recorded chain head and the chain with the signed checkpoints kept outside the "
        "database. ``ok`` is false and ``broken_sequence`` / ``broken_id`` name the first event "
        "that was altered, removed or reordered, or ``reason`` names the checkpoint the chain "
        "contradicts (cut tail, reset, re-hashed chain).",
        responses=AuditVerificationSerializer,
        filters=False,
    )
    @action(detail=False, methods=["get"])
    def verify(self, request):
        return Response(selectors.audit_chain_verify_with_checkpoints().as_dict())
