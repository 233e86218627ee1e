"""Serializers of the thresholds and metrics API: shapes only; writes go through services.

Models are named by slug, versions by their version string, metrics by name.
"""

from __future__ import annotations

from datetime import timedelta

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.reverse import reverse

from apps.core import clock
from apps.core.api.fields import (
    DateTimeField,
    ModelSerializer,
    ReferenceField,
    SlugRelatedField,
)
from apps.inventory import selectors as inventory_selectors
from apps.monitoring.choices import BreachDirection, EvaluationState, MetricDirection
from apps.monitoring.models import MetricDefinition, Threshold


class MetricDefinitionSerializer(ModelSerializer):
    created_by = SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = MetricDefinition
        fields = ("name", "description", "unit", "direction", "created_by", "created_at")
        read_only_fields = ("created_at",)
        # The service reports a duplicate name per field like any other refusal.
        extra_kwargs = {"name": {"validators": []}}


class VersionField(ReferenceField):
    """A version of the threshold's model, by its version string (null: every version)."""

    def get_attribute(self, instance):
        return instance.version.version if instance.version_id else None


class VisibleModelField(SlugRelatedField):
    """A model named by slug, among the models the requesting user sees."""

    def __init__(self, **kwargs):
        super().__init__(slug_field="slug", **kwargs)

    def get_queryset(self):
        return inventory_selectors.model_list(user=self.context["request"].user)


class ThresholdSerializer(ModelSerializer):
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
    metric = SlugRelatedField(
        slug_field="name", queryset=MetricDefinition.objects.all(), help_text="Metric name."
    )
    direction = serializers.ChoiceField(
        choices=BreachDirection.choices,
        required=False,
        allow_blank=True,
        help_text="Omit to follow the metric (higher is better → below).",
    )
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    created_by = SlugRelatedField(slug_field="username", read_only=True)
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

    model = SlugRelatedField(slug_field="slug", read_only=True)


class SubmitSerializer(serializers.Serializer):
    justification = serializers.CharField(required=False, allow_blank=True, default="")


# --- metrics of a model: latest values, states and downsampled series -----------------------


class ObservedValueSerializer(serializers.Serializer):
    version = serializers.CharField()
    timestamp = DateTimeField()
    value = serializers.FloatField()


class ThresholdStateSerializer(serializers.Serializer):
    version = serializers.CharField(source="version.version")
    state = serializers.ChoiceField(choices=EvaluationState.choices)
    value = serializers.FloatField(allow_null=True)
    sample_count = serializers.IntegerField()
    since = DateTimeField()
    evaluated_at = DateTimeField()


class ActiveThresholdSerializer(serializers.Serializer):
    """An active threshold of the metric with its latest evaluation per version."""

    id = serializers.IntegerField()
    version = VersionField(allow_null=True, help_text="Null: every version.")
    segment = serializers.CharField()
    direction = serializers.ChoiceField(choices=BreachDirection.choices)
    warning_bound = serializers.FloatField()
    critical_bound = serializers.FloatField()
    states = ThresholdStateSerializer(many=True, source="current_states")


class ModelMetricSerializer(serializers.Serializer):
    """A metric the model has observations of: its latest whole-population value and the
    state of its active thresholds."""

    name = serializers.CharField()
    description = serializers.CharField()
    unit = serializers.CharField()
    direction = serializers.ChoiceField(choices=MetricDirection.choices)
    latest = serializers.SerializerMethodField()
    thresholds = ActiveThresholdSerializer(many=True)
    series_url = serializers.SerializerMethodField()

    @extend_schema_field(ObservedValueSerializer(allow_null=True))
    def get_latest(self, metric) -> dict | None:
        if metric.latest_at is None:
            return None
        return ObservedValueSerializer(
            {
                "version": metric.latest_version,
                "timestamp": metric.latest_at,
                "value": metric.latest_value,
            }
        ).data

    def get_series_url(self, metric) -> str:
        return reverse(
            "api:model-metric-detail",
            kwargs={"model_slug": self.context["model"].slug, "metric": metric.name},
            request=self.context["request"],
        )


class SeriesQuerySerializer(serializers.Serializer):
    """Query parameters of a metric series."""

    locals()["from"] = DateTimeField(
        required=False, help_text="Start (ISO 8601); default: 90 days before ``to``."
    )
    to = DateTimeField(required=False, help_text="End (ISO 8601); default: now.")
    segment = ReferenceField(
        required=False, allow_blank=True, default="", help_text="Empty: the whole population."
    )
    points = serializers.IntegerField(
        required=False,
        min_value=10,
        max_value=5000,
        default=600,
        help_text="At most this many points per version (downsampled beyond).",
    )

    def validate(self, attrs):
        end = attrs.get("to") or clock.now()
        start = attrs.get("from") or end - timedelta(days=90)
        if start >= end:
            raise serializers.ValidationError({"from": ["Must be before to."]})
        return {**attrs, "from": start, "to": end}


class SeriesPointSerializer(serializers.Serializer):
    timestamp = DateTimeField()
    value = serializers.FloatField()


class VersionSeriesSerializer(serializers.Serializer):
    version = serializers.CharField()
    observations = serializers.IntegerField(help_text="Observations in the range.")
    downsampled = serializers.BooleanField(help_text="Fewer points than observations.")
    points = SeriesPointSerializer(many=True)


class MetricBreachSerializer(serializers.Serializer):
    version = serializers.CharField(source="version.version")
    state = serializers.ChoiceField(choices=EvaluationState.choices)
    value = serializers.FloatField()
    warning_bound = serializers.FloatField()
    critical_bound = serializers.FloatField()
    observed_at = DateTimeField()
    detected_at = DateTimeField()
    ended_at = DateTimeField(allow_null=True)
    incident = serializers.CharField(
        source="incident.reference",
        allow_null=True,
        default=None,
        help_text="Reference of the incident it opened or joined.",
    )


class MetricSeriesSerializer(serializers.Serializer):
    """One metric of one model over a time range: a downsampled series per version (min/max
    per time bucket, then Largest-Triangle-Three-Buckets), the active thresholds and breaches."""

    metric = serializers.CharField()
    unit = serializers.CharField()
    direction = serializers.ChoiceField(choices=MetricDirection.choices)
    segment = serializers.CharField()
    locals()["from"] = DateTimeField()
    to = DateTimeField()
    series = VersionSeriesSerializer(many=True)
    thresholds = ActiveThresholdSerializer(many=True)
    breaches = MetricBreachSerializer(many=True)


class ObservationQuerySerializer(serializers.Serializer):
    """Query parameters of a metric's full-resolution observations."""

    locals()["from"] = DateTimeField(
        required=False, help_text="Start (ISO 8601); default: 90 days before ``to``."
    )
    to = DateTimeField(required=False, help_text="End (ISO 8601); default: now.")
    segment = ReferenceField(
        required=False, allow_blank=True, default="", help_text="Empty: the whole population."
    )
    cursor = serializers.CharField(
        required=False, default="", help_text="The ``next`` link's cursor (opaque)."
    )
    page_size = serializers.IntegerField(required=False, min_value=1, max_value=5000, default=1000)

    def validate(self, attrs):
        end = attrs.get("to") or clock.now()
        start = attrs.get("from") or end - timedelta(days=90)
        if start >= end:
            raise serializers.ValidationError({"from": ["Must be before to."]})
        return {**attrs, "from": start, "to": end}


class ObservationRowSerializer(serializers.Serializer):
    version = serializers.CharField()
    timestamp = DateTimeField()
    value = serializers.FloatField()


class ObservationPageSerializer(serializers.Serializer):
    next = serializers.CharField(allow_null=True, help_text="The next page, or null.")
    results = ObservationRowSerializer(many=True)
