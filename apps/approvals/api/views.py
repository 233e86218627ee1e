"""Approval API: list and read requests, ask for a sign-off, decide (signed with the
password, or at the identity provider after a signature challenge), withdraw. Thin: the
queryset comes from the selectors (invisible requests answer 404), the permissions from the
rules, every write from the engine."""

from __future__ import annotations

from django.db.models import Prefetch
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
from apps.approvals import selectors, services
from apps.approvals.api import serializers as s
from apps.approvals.filters import ApprovalRequestFilter
from apps.approvals.forms import VERSION_KINDS
from apps.approvals.models import ApprovalRequest, Decision
from apps.approvals.registry import model_hooks
from apps.core.api.permissions import RulesPermission
from apps.core.api.schema import REFERENCE_NOT_FOUND
from apps.core.errors import ApplicationError


@extend_schema(tags=["approvals"])
@extend_schema_view(
    list=extend_schema(summary="List approval requests you may see"),
    retrieve=extend_schema(summary="Read a request with its frozen content and decisions"),
    create=extend_schema(
        summary="Request a sign-off",
        description="Validation sign-off or promotion of a version, or retirement of a model. "
        "The content is frozen with its SHA-256; gates answer 400 with the reason.",
        request=s.ApprovalRequestCreateSerializer,
        responses={201: s.ApprovalRequestSerializer, 404: REFERENCE_NOT_FOUND},
    ),
)
class ApprovalRequestViewSet(
    SignatureChallengeMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Approval requests and their electronically signed decisions."""

    signature_purpose = services.SIGNATURE_PURPOSE

    serializer_class = s.ApprovalRequestSerializer
    permission_classes = [RulesPermission]
    lookup_value_regex = r"[0-9]+"
    filter_backends = [DjangoFilterBackend]
    filterset_class = ApprovalRequestFilter
    perms = {
        "list": "approvals.view_approvalrequest",
        "retrieve": "approvals.view_approvalrequest",
        "create": "approvals.add_approvalrequest",
        "decide": "approvals.decide_approvalrequest",
        "signature_challenge": "approvals.decide_approvalrequest",
        "withdraw": "approvals.withdraw_approvalrequest",
    }

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ApprovalRequest.objects.none()
        return selectors.request_list(user=self.request.user).prefetch_related(
            Prefetch("decisions", queryset=Decision.objects.select_related("approver"))
        )

    def _respond(self, request_obj, code: int = status.HTTP_200_OK) -> Response:
        fresh = self.get_queryset().get(pk=request_obj.pk)
        return Response(s.ApprovalRequestSerializer(fresh).data, status=code)

    def create(self, request, *args, **kwargs):
        body = s.ApprovalRequestCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        hooks = model_hooks()
        model = hooks.get(user=request.user, slug=data["model"])
        subject = model
        if data["kind"] in VERSION_KINDS:
            if not data.get("version"):
                message = "Name the version to sign off."
                raise ApplicationError(message, field_errors={"version": [message]})
            subject = hooks.version_get(user=request.user, model=model, version=data["version"])
        approval = services.approval_request_create(
            actor=request.user,
            kind=data["kind"],
            subject=subject,
            justification=data["justification"],
        )
        return self._respond(approval, status.HTTP_201_CREATED)

    @extend_schema(
        summary="Sign a decision: approve, reject or request changes",
        description="An electronic signature. "
        + SIGNATURE_HELP
        + " Reject and request changes need a comment. Four-eyes refusals and stale content "
        "answer 400; nothing is signed.",
        request=s.DecideSerializer,
        responses={200: s.ApprovalRequestSerializer, 429: LOCKED_OUT_RESPONSE},
    )
    @action(detail=True, methods=["post"])
    def decide(self, request, pk=None):
        approval = self.get_object()
        body = s.DecideSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        credential = self.signature_credential(
            approval, data, signature=services.signature_attempt(approval)
        )
        with locked_out_answers_429():
            services.approval_decide(
                actor=request.user,
                request=approval,
                verdict=data["verdict"],
                credential=credential,
                comment=data["comment"],
                http_request=request._request,
            )
        return self._respond(approval)

    @extend_schema(
        summary="Withdraw a pending request (the requester or an administrator)",
        request=s.WithdrawSerializer,
        responses=s.ApprovalRequestSerializer,
    )
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        approval = self.get_object()
        body = s.WithdrawSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.approval_withdraw(actor=request.user, request=approval, **body.validated_data)
        return self._respond(approval)
