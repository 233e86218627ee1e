"""Approval API shapes: requests with their signed decisions, and the bodies of the actions."""

from __future__ import annotations

from rest_framework import serializers

from apps.accounts.api.signatures import SignedSerializerMixin, id_token_field, password_field
from apps.approvals.choices import Verdict
from apps.approvals.forms import INVENTORY_KINDS
from apps.approvals.models import ApprovalRequest, Decision
from apps.core.api.fields import (
    ModelSerializer,
    ReferenceField,
    SlugRelatedField,
    UsernameField,
)


class DecisionSerializer(ModelSerializer):
    approver = UsernameField(read_only=True)

    class Meta:
        model = Decision
        fields = (
            "approver",
            "slot",
            "verdict",
            "comment",
            "content_sha256",
            "meaning",
            "signed_at",
            "signature_method",
            "signature_issuer",
            "signature_auth_time",
        )
        read_only_fields = fields


class ApprovalRequestSerializer(ModelSerializer):
    model = SlugRelatedField(slug_field="slug", read_only=True)
    requested_by = UsernameField(read_only=True)
    decisions = DecisionSerializer(many=True, read_only=True)

    class Meta:
        model = ApprovalRequest
        fields = (
            "id",
            "kind",
            "status",
            "model",
            "subject_type",
            "subject_id",
            "title",
            "justification",
            "content",
            "content_sha256",
            "tier_at_request",
            "required_slots",
            "requested_by",
            "requested_at",
            "closed_at",
            "closing_note",
            "decisions",
        )
        read_only_fields = fields


class ApprovalRequestCreateSerializer(serializers.Serializer):
    """Ask for a sign-off of an inventory subject: a version (validation, promotion) or the
    model itself (retirement)."""

    kind = serializers.ChoiceField(choices=[(k.value, k.label) for k in INVENTORY_KINDS])
    model = ReferenceField(max_length=100, help_text="Slug of the model.")
    version = ReferenceField(
        max_length=64, required=False, allow_blank=True, help_text="For validation and promotion."
    )
    justification = serializers.CharField(required=False, allow_blank=True, default="")


class DecideSerializer(SignedSerializerMixin, serializers.Serializer):
    """A signed decision: the password re-entered, or (for people who sign in through the
    identity provider) an ID token from a fresh re-authentication there, carrying the nonce
    of a signature challenge. One of the two, never both."""

    verdict = serializers.ChoiceField(choices=Verdict.choices)
    password = password_field("a decision")
    id_token = id_token_field()
    comment = serializers.CharField(required=False, allow_blank=True, default="")


class WithdrawSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="")
