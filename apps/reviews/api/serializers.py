"""Serializers of the reviews API: shapes only. Writes go through apps.reviews.services."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.core.api.fields import ModelSerializer, SlugRelatedField, UsernameField
from apps.core.links import validate_link_lines
from apps.inventory import selectors as inventory_selectors
from apps.reviews import selectors
from apps.reviews.choices import FindingStatus
from apps.reviews.models import Finding, Review


@extend_schema_field(OpenApiTypes.STR)
class ModelSlugField(SlugRelatedField):
    """A model named by slug, among the models the requesting user may see."""

    def __init__(self, **kwargs):
        super().__init__(slug_field="slug", **kwargs)

    def get_queryset(self):
        return inventory_selectors.model_list(user=self.context["request"].user)


class ReviewSerializer(ModelSerializer):
    model = ModelSlugField()
    reviewer = UsernameField(required=False)
    status_label = serializers.CharField(source="get_status_display", read_only=True)

    class Meta:
        model = Review
        fields = (
            "id",
            "model",
            "reviewer",
            "scope",
            "outcome",
            "notes",
            "status",
            "status_label",
            "due_date",
            "reviewed_on",
            "created_at",
            "submitted_at",
            "attested_at",
        )
        read_only_fields = ("status", "created_at", "submitted_at", "attested_at")


class ReviewUpdateSerializer(ReviewSerializer):
    model = SlugRelatedField(slug_field="slug", read_only=True)


class ReviewSubmitSerializer(serializers.Serializer):
    justification = serializers.CharField(required=False, allow_blank=True, default="")


@extend_schema_field(OpenApiTypes.INT)
class ReviewIdField(serializers.PrimaryKeyRelatedField):
    def get_queryset(self):
        return selectors.review_list(user=self.context["request"].user)


class FindingSerializer(ModelSerializer):
    model = ModelSlugField()
    review = ReviewIdField(required=False, allow_null=True)
    owner = UsernameField()
    links = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = Finding
        fields = (
            "id",
            "model",
            "review",
            "title",
            "severity",
            "description",
            "owner",
            "due_date",
            "status",
            "evidence",
            "evidence_links",
            "links",
            "created_at",
            "updated_at",
        )
        read_only_fields = ("status", "created_at", "updated_at")

    def validate_evidence_links(self, value: str) -> str:
        # Only web addresses: these links are opened by validators, auditors and admins.
        validate_link_lines(value)
        return value


class FindingUpdateSerializer(FindingSerializer):
    model = SlugRelatedField(slug_field="slug", read_only=True)
    review = serializers.PrimaryKeyRelatedField(read_only=True)
    owner = UsernameField(required=False)


class FindingStatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=FindingStatus.choices)
    note = serializers.CharField(required=False, allow_blank=True, default="")


class RiskAcceptanceSerializer(serializers.Serializer):
    justification = serializers.CharField()


class ApprovalRequestRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    status = serializers.CharField()
    content_sha256 = serializers.CharField()
