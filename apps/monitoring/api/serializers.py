"""Serializers of the thresholds and metrics API: shapes only; writes go through services.

Models are named by slug, versions by their version string, metrics by name.
"""

from __future__ import annotations

from rest_framework import serializers

from apps.inventory import selectors as inventory_selectors
from apps.monitoring.choices import BreachDirection
from apps.monitoring.models import MetricDefinition, Threshold


class MetricDefinitionSerializer(serializers.ModelSerializer):
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = MetricDefinition
        fields = ("name", "description", "unit", "direction", "created_by", "created_at")
        read_only_fields = ("created_at",)
        # The service reports a duplicate name per field like any other refusal.
        extra_kwargs = {"name": {"validators": []}}


class VersionField(serializers.CharField):
    """A version of the threshold's model, by its version string (null: every version)."""

    def get_attribute(self, instance):
        return instance.version.version if instance.version_id else None


class VisibleModelField(serializers.SlugRelatedField):
    """A model named by slug, among the models the requesting user sees."""

    def __init__(self, **kwargs):
        super().__init__(slug_field="slug", **kwargs)

    def get_queryset(self):
        return inventory_selectors.model_list(user=self.context["request"].user)


class ThresholdSerializer(serializers.ModelSerializer):
    """A threshold. ``version`` is a version string of ``model``; empty for every version."""

    url = serializers.HyperlinkedIdentityField(view_name="api:threshold-detail")
    web_url = serializers.CharField(source="get_absolute_url", read_only=True)
    model = VisibleModelField(help_text="Slug of the model.")
    version = VersionField(
        required=False,
        allow_null=True,
        allow_blank=True,
        help_text="A version string of the model; empty or null for every version.",
    )
    metric = serializers.SlugRelatedField(
        slug_field="name", queryset=MetricDefinition.objects.all(), help_text="Metric name."
    )
    direction = serializers.ChoiceField(
        choices=BreachDirection.choices,
        required=False,
        allow_blank=True,
        help_text="Omit to follow the metric (higher is better → below).",
    )
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    signoff_request = serializers.PrimaryKeyRelatedField(read_only=True)
    supersedes = serializers.PrimaryKeyRelatedField(read_only=True)

    class Meta:
        model = Threshold
        fields = (
            "id",
            "url",
            "web_url",
            "model",
            "version",
            "segment",
            "metric",
            "direction",
            "warning_bound",
            "critical_bound",
            "evaluation",
            "window_days",
            "min_samples",
            "rationale",
            "review_by",
            "status",
            "status_label",
            "supersedes",
            "signoff_request",
            "created_by",
            "created_at",
            "updated_at",
            "activated_at",
            "ended_at",
        )
        read_only_fields = ("status", "created_at", "updated_at", "activated_at", "ended_at")
        # The one-active rule is the services' and the database's; DRF would otherwise turn
        # the partial unique constraints into "required" errors on drafts.
        validators = []

    def validate(self, attrs):
        if "version" in attrs:
            name = attrs["version"]
            model = attrs.get("model") or (self.instance.model if self.instance else None)
            attrs["version"] = None
            if name:
                found = model.versions.filter(version=name).first() if model else None
                if found is None:
                    raise serializers.ValidationError(
                        {"version": [f"{model} has no version {name!r}."]}
                    )
                attrs["version"] = found
        return attrs


class ThresholdUpdateSerializer(ThresholdSerializer):
    """Edits of a draft: the model is fixed."""

    model = serializers.SlugRelatedField(slug_field="slug", read_only=True)


class SubmitSerializer(serializers.Serializer):
    justification = serializers.CharField(required=False, allow_blank=True, default="")
