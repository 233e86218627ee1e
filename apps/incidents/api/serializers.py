"""Serializers of the incidents API: shapes only. Writes go through apps.incidents.services."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.accounts.api.signatures import SignedSerializerMixin, id_token_field, password_field
from apps.core import clock
from apps.core.api.fields import ModelSerializer, SlugRelatedField, UsernameField
from apps.incidents import selectors
from apps.incidents.models import Incident, IncidentEvent
from apps.monitoring.models import Breach
from apps.reviews.api.serializers import ApprovalRequestRefSerializer, ModelSlugField

__all__ = ["ApprovalRequestRefSerializer"]


class CountdownSerializer(serializers.Serializer):
    text = serializers.CharField()
    overdue = serializers.BooleanField()
    reported = serializers.BooleanField()


class IncidentSerializer(ModelSerializer):
    model = ModelSlugField()
    assignee = UsernameField(required=False, allow_null=True)
    threshold = serializers.PrimaryKeyRelatedField(read_only=True)
    affected_versions = serializers.SerializerMethodField()
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    deadline = serializers.SerializerMethodField()

    class Meta:
        model = Incident
        fields = (
            "reference",
            "model",
            "title",
            "severity",
            "status",
            "status_label",
            "description",
            "impact",
            "root_cause",
            "corrective_actions",
            "threshold",
            "affected_versions",
            "assignee",
            "detected_at",
            "awareness_at",
            "serious_category",
            "widespread",
            "reporting_deadline",
            "reported_at",
            "deadline",
            "rollback_request",
            "created_at",
            "updated_at",
            "resolved_at",
            "closed_at",
        )
        read_only_fields = (
            "reference",
            "status",
            "impact",
            "root_cause",
            "corrective_actions",
            "reporting_deadline",
            "reported_at",
            "rollback_request",
            "created_at",
            "updated_at",
            "resolved_at",
            "closed_at",
        )
        extra_kwargs = {"detected_at": {"required": False}}

    def get_affected_versions(self, incident: Incident) -> list[str]:
        return sorted(v.version for v in incident.affected_versions.all())

    @extend_schema_field(CountdownSerializer)
    def get_deadline(self, incident: Incident) -> dict:
        countdown = selectors.countdown_of(incident, self.context.get("now") or clock.now())
        return {
            "text": countdown.text,
            "overdue": countdown.overdue,
            "reported": countdown.reported,
        }


class IncidentUpdateSerializer(IncidentSerializer):
    model = SlugRelatedField(slug_field="slug", read_only=True)

    class Meta(IncidentSerializer.Meta):
        read_only_fields = (
            "reference",
            "status",
            "detected_at",
            "reporting_deadline",
            "rollback_request",
            "created_at",
            "updated_at",
            "resolved_at",
            "closed_at",
        )


class IncidentEventSerializer(ModelSerializer):
    actor = SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = IncidentEvent
        fields = ("id", "kind", "at", "actor", "text", "from_status", "to_status", "breach", "data")
        read_only_fields = fields


class BreachSerializer(ModelSerializer):
    version = SlugRelatedField(slug_field="version", read_only=True)

    class Meta:
        model = Breach
        fields = (
            "id",
            "threshold",
            "version",
            "state",
            "value",
            "warning_bound",
            "critical_bound",
            "observed_at",
            "detected_at",
            "ended_at",
        )
        read_only_fields = fields


class IncidentDetailSerializer(IncidentSerializer):
    timeline = IncidentEventSerializer(source="events", many=True, read_only=True)
    breaches = BreachSerializer(many=True, read_only=True)

    class Meta(IncidentSerializer.Meta):
        fields = (*IncidentSerializer.Meta.fields, "breaches", "timeline")


class IncidentTransitionSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Incident._meta.get_field("status").choices)
    note = serializers.CharField(required=False, allow_blank=True, default="")


class IncidentCommentSerializer(serializers.Serializer):
    text = serializers.CharField()


class IncidentRollbackSerializer(SignedSerializerMixin, serializers.Serializer):
    """A signed emergency rollback: the password, or an ID token from the identity provider,
    as for an approval decision (one of the two)."""

    reason = serializers.CharField()
    password = password_field("this production change")
    id_token = id_token_field()
    expected_version = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="The version you expect to be restored; refused (400) if the rollback would "
        "now restore another one.",
    )
