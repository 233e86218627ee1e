"""Reviews and findings API: thin. Querysets from selectors (invisible objects answer 404),
permissions from apps/reviews/rules.py, every write from a service."""

from __future__ import annotations

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.core.api.mixins import ServiceWriteMixin, UpdateSerializerMixin, schema_generation
from apps.core.api.permissions import RulesPermission
from apps.reviews import selectors, services
from apps.reviews.api import serializers as s
from apps.reviews.filters import FindingFilter
from apps.reviews.models import Finding, Review


class _Base(
    ServiceWriteMixin,
    UpdateSerializerMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    permission_classes = [RulesPermission]
    http_method_names = ["get", "post", "patch", "head", "options"]


@extend_schema(tags=["reviews"])
@extend_schema_view(
    list=extend_schema(summary="List the periodic reviews of the models you may see"),
    retrieve=extend_schema(summary="Read a review"),
    create=extend_schema(summary="Open a periodic review (validators and administrators)"),
    partial_update=extend_schema(summary="Edit an open or returned review"),
)
class ReviewViewSet(_Base):
    serializer_class = s.ReviewSerializer
    update_serializer_class = s.ReviewUpdateSerializer
    perms = {
        "list": "reviews.view_review",
        "retrieve": "reviews.view_review",
        "create": "reviews.add_review",
        "partial_update": "reviews.change_review",
        "submit": "reviews.submit_review",
    }

    def get_queryset(self):
        if schema_generation(self):
            return Review.objects.none()
        return selectors.review_list(user=self.request.user)

    def service_create(self, data):
        return services.review_create(actor=self.request.user, **data)

    def service_update(self, instance, data):
        return services.review_update(actor=self.request.user, review=instance, **data)

    @extend_schema(
        summary="Submit the review for attestation",
        description="Freezes scope, outcome and notes in an approval request (202 with it).",
        request=s.ReviewSubmitSerializer,
        responses={202: s.ApprovalRequestRefSerializer},
    )
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        review = self.get_object()
        body = s.ReviewSubmitSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        approval = services.review_submit(actor=request.user, review=review, **body.validated_data)
        return Response(
            s.ApprovalRequestRefSerializer(approval).data, status=status.HTTP_202_ACCEPTED
        )


@extend_schema(tags=["findings"])
@extend_schema_view(
    list=extend_schema(summary="List the findings of the models you may see"),
    retrieve=extend_schema(summary="Read a finding"),
    create=extend_schema(summary="Record a finding (validators and administrators)"),
    partial_update=extend_schema(
        summary="Edit a finding",
        description="Validators edit every field; the finding's owner the evidence only.",
    ),
)
class FindingViewSet(_Base):
    serializer_class = s.FindingSerializer
    update_serializer_class = s.FindingUpdateSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = FindingFilter
    perms = {
        "list": "reviews.view_finding",
        "retrieve": "reviews.view_finding",
        "create": "reviews.add_finding",
        "partial_update": "reviews.change_finding",
        "status": "reviews.change_finding",
        "risk_acceptance": "reviews.request_risk_acceptance_finding",
    }

    def get_queryset(self):
        if schema_generation(self):
            return Finding.objects.none()
        return selectors.finding_list(user=self.request.user)

    def service_create(self, data):
        return services.finding_create(actor=self.request.user, **data)

    def service_update(self, instance, data):
        return services.finding_update(actor=self.request.user, finding=instance, **data)

    @extend_schema(
        summary="Change a finding's status",
        description="Owners mark it remediated (with evidence); validators close or reopen it. "
        "Risk acceptance goes through ``risk-acceptance``.",
        request=s.FindingStatusSerializer,
        responses=s.FindingSerializer,
    )
    @action(detail=True, methods=["post"])
    def status(self, request, pk=None):
        finding = self.get_object()
        body = s.FindingStatusSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        finding = services.finding_set_status(
            actor=request.user, finding=finding, **body.validated_data
        )
        return self._respond(finding)

    @extend_schema(
        summary="Request acceptance of the finding's risk (an approval request)",
        request=s.RiskAcceptanceSerializer,
        responses={202: s.ApprovalRequestRefSerializer},
    )
    @action(detail=True, methods=["post"], url_path="risk-acceptance")
    def risk_acceptance(self, request, pk=None):
        finding = self.get_object()
        body = s.RiskAcceptanceSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        approval = services.finding_request_risk_acceptance(
            actor=request.user, finding=finding, **body.validated_data
        )
        return Response(
            s.ApprovalRequestRefSerializer(approval).data, status=status.HTTP_202_ACCEPTED
        )
