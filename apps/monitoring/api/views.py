"""Thresholds and metrics API: thin. Querysets come from selectors (invisible thresholds
answer 404), permissions from apps/monitoring/rules.py, every write from a service."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

from django.http import StreamingHttpResponse
from django_filters import rest_framework as df
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

from apps.core.api.mixins import ServiceWriteMixin, UpdateSerializerMixin
from apps.core.api.permissions import RulesPermission
from apps.core.filters import FilterSet
from apps.inventory.api.nesting import MODEL_SLUG_PARAM, ModelChildMixin
from apps.inventory.models import ModelVersion
from apps.monitoring import charts, selectors, services
from apps.monitoring.api import serializers as s
from apps.monitoring.choices import ThresholdStatus
from apps.monitoring.models import MetricDefinition, Threshold

MANAGE = "monitoring.change_threshold"
CSV_CHUNK = 10_000


def _cursor_of(version_id: int, at: datetime) -> str:
    """An opaque keyset cursor: where a page of observations ended."""
    text = f"{version_id}:{at.astimezone(UTC).isoformat()}"
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _cursor_key(cursor: str) -> tuple[int, datetime] | None:
    if not cursor:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        version, at = text.split(":", 1)
        return int(version), datetime.fromisoformat(at)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValidationError({"cursor": ["Not a cursor of this list."]}) from exc


def _csv_text(text: str) -> str:
    """A CSV field, quoted when it must be, and never read as a formula."""
    if text[:1] in ("=", "+", "-", "@"):
        text = "'" + text
    if any(c in text for c in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


class ThresholdFilter(FilterSet):
    model = df.CharFilter(field_name="model__slug", help_text="Slug of the model.")
    metric = df.CharFilter(field_name="metric__name", help_text="Name of the metric.")
    status = df.MultipleChoiceFilter(choices=ThresholdStatus.choices)

    class Meta:
        model = Threshold
        fields = ("model", "metric", "status")


@extend_schema_view(
    list=extend_schema(summary="List thresholds of the models you may see"),
    retrieve=extend_schema(summary="Read a threshold"),
    create=extend_schema(summary="Draft a threshold"),
    partial_update=extend_schema(
        summary="Edit a draft threshold",
        description="Only drafts are edited; editing one pending sign-off returns it to "
        "draft and its request goes stale. Active thresholds are revised instead.",
    ),
    submit=extend_schema(summary="Submit a draft for sign-off", request=s.SubmitSerializer),
    revise=extend_schema(
        summary="Draft a revision of an active threshold",
        description="The active threshold keeps applying until the revision is signed off.",
        request=None,
        responses={201: s.ThresholdSerializer},
    ),
)
class ThresholdViewSet(
    ServiceWriteMixin,
    UpdateSerializerMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = s.ThresholdSerializer
    update_serializer_class = s.ThresholdUpdateSerializer
    permission_classes = [RulesPermission]
    filterset_class = ThresholdFilter
    http_method_names = ["get", "post", "patch", "head", "options"]
    ordering_fields = ("created_at", "review_by")
    perms = {
        "list": "monitoring.view_threshold",
        "retrieve": "monitoring.view_threshold",
        "create": "monitoring.add_threshold",
        "partial_update": MANAGE,
        "submit": "monitoring.submit_threshold",
        "revise": "monitoring.revise_threshold",
    }

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Threshold.objects.none()
        return selectors.threshold_list(user=self.request.user).order_by("-created_at", "-pk")

    def service_create(self, data):
        return services.threshold_create(actor=self.request.user, **data)

    def service_update(self, instance, data):
        return services.threshold_update(actor=self.request.user, threshold=instance, **data)

    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        threshold = self.get_object()
        body = s.SubmitSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.threshold_submit(actor=request.user, threshold=threshold, **body.validated_data)
        return self._respond(threshold)

    @action(detail=True, methods=["post"])
    def revise(self, request, pk=None):
        revision = services.threshold_revise(actor=request.user, threshold=self.get_object())
        return self._respond(revision, 201)


@extend_schema_view(
    list=extend_schema(summary="List metric definitions"),
    create=extend_schema(summary="Define a metric (validators and admins)"),
)
class MetricDefinitionViewSet(
    mixins.ListModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    serializer_class = s.MetricDefinitionSerializer
    permission_classes = [RulesPermission]
    filter_backends = []
    perms = {
        "list": "monitoring.view_metricdefinition",
        "create": "monitoring.add_metricdefinition",
    }

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return MetricDefinition.objects.none()
        return selectors.metric_list().select_related("created_by")

    def perform_create(self, serializer):
        serializer.instance = services.metric_definition_create(
            actor=self.request.user, **serializer.validated_data
        )


# --- metrics of a model ---------------------------------------------------------------------

METRIC_PARAM = OpenApiParameter(
    "metric", OpenApiTypes.STR, OpenApiParameter.PATH, description="Name of the metric."
)


@extend_schema(parameters=[MODEL_SLUG_PARAM], tags=["metrics"])
@extend_schema_view(
    list=extend_schema(
        summary="The metrics a model has observations of",
        description="Each with its latest whole-population value and the latest evaluation "
        "of its active thresholds per version.",
    ),
    observations=extend_schema(
        summary="A metric's observations at full resolution, a page at a time",
        description="In (version, time) order. Pages are keyset pages: follow ``next`` "
        "(its ``cursor`` marks where the page ended), so a late page costs what the first does.",
        parameters=[METRIC_PARAM, s.ObservationQuerySerializer],
        responses=s.ObservationPageSerializer,
    ),
    observations_csv=extend_schema(
        summary="A metric's observations at full resolution as CSV (streamed)",
        parameters=[METRIC_PARAM, s.ObservationQuerySerializer],
        responses={(200, "text/csv"): OpenApiTypes.STR},
    ),
    retrieve=extend_schema(
        summary="A metric's series over a time range, downsampled",
        description="One series per version. Long series are reduced in the database to time "
        "buckets (lowest and highest value of each, so spikes survive) and then to at most "
        "``points`` points per version with Largest-Triangle-Three-Buckets. With the "
        "metric's active thresholds and the breaches observed in the range.",
        parameters=[METRIC_PARAM, s.SeriesQuerySerializer],
        responses=s.MetricSeriesSerializer,
    ),
)
class ModelMetricViewSet(ModelChildMixin, viewsets.GenericViewSet):
    """Metrics of a model (404 when the model is out of the user's reach)."""

    serializer_class = s.ModelMetricSerializer
    permission_classes = [RulesPermission]
    filter_backends = []
    pagination_class = None
    lookup_field = "metric"
    lookup_value_regex = r"[a-z0-9]+(?:[._-][a-z0-9]+)*"
    perms = {
        "list": "monitoring.view_observation",
        "retrieve": "monitoring.view_observation",
        "observations": "monitoring.view_observation",
        "observations_csv": "monitoring.view_observation",
    }

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return MetricDefinition.objects.none()
        return selectors.model_metrics(model=self.get_parent())

    def _metric(self, request, kwargs):
        model = self.get_parent()
        self.check_object_permissions(request, model)
        metric = MetricDefinition.objects.filter(name=kwargs["metric"]).first()
        if metric is None:
            raise NotFound("No such metric.")
        return model, metric

    def _observation_query(self, request) -> dict:
        query = s.ObservationQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = dict(query.validated_data)
        params["after"] = _cursor_key(params.pop("cursor"))
        return params

    @action(detail=True, methods=["get"], url_path="observations")
    def observations(self, request, *args, **kwargs):
        model, metric = self._metric(request, kwargs)
        p = self._observation_query(request)
        size = p["page_size"]
        rows = selectors.observation_page(
            model=model,
            metric=metric,
            start=p["from"],
            end=p["to"],
            segment=p["segment"],
            after=p["after"],
            limit=size + 1,
        )
        following = None
        if len(rows) > size:
            rows = rows[:size]
            last = rows[-1]
            query = request.query_params.copy()
            query["cursor"] = _cursor_of(last[0], last[2])
            following = request.build_absolute_uri(request.path) + "?" + query.urlencode()
        body = {
            "next": following,
            "results": [{"version": r[1], "timestamp": r[2], "value": r[3]} for r in rows],
        }
        return Response(s.ObservationPageSerializer(body).data)

    @action(detail=True, methods=["get"], url_path="observations/csv")
    def observations_csv(self, request, *args, **kwargs):
        model, metric = self._metric(request, kwargs)
        p = self._observation_query(request)

        def lines():
            yield "version,timestamp,value,segment\r\n"
            after = p["after"]
            while True:
                rows = selectors.observation_page(
                    model=model,
                    metric=metric,
                    start=p["from"],
                    end=p["to"],
                    segment=p["segment"],
                    after=after,
                    limit=CSV_CHUNK,
                )
                yield "".join(
                    f"{_csv_text(r[1])},{r[2].astimezone(UTC).isoformat()},{r[3]!r},"
                    f"{_csv_text(p['segment'])}\r\n"
                    for r in rows
                )
                if len(rows) < CSV_CHUNK:
                    return
                after = (rows[-1][0], rows[-1][2])

        response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
        name = f"{model.slug}-{metric.name}-observations.csv"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response

    def _thresholds_by_metric(self, model) -> dict[int, list]:
        grouped: dict[int, list] = {}
        for threshold in selectors.threshold_states(model=model):
            grouped.setdefault(threshold.metric_id, []).append(threshold)
        return grouped

    def list(self, request, *args, **kwargs):
        model = self.get_parent()
        thresholds = self._thresholds_by_metric(model)
        metrics = list(self.get_queryset())
        for metric in metrics:
            metric.thresholds = thresholds.get(metric.pk, [])
        context = {**self.get_serializer_context(), "model": model}
        return Response(s.ModelMetricSerializer(metrics, many=True, context=context).data)

    def retrieve(self, request, *args, **kwargs):
        model = self.get_parent()
        self.check_object_permissions(request, model)
        metric = MetricDefinition.objects.filter(name=kwargs["metric"]).first()
        if metric is None:
            raise NotFound("No such metric.")
        query = s.SeriesQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        start, end, segment, points = (
            params["from"],
            params["to"],
            params["segment"],
            params["points"],
        )
        bucketed = selectors.metric_series(
            model=model,
            start=start,
            end=end,
            segment=segment,
            metric_ids=[metric.pk],
            buckets=points,
        )
        versions = ModelVersion.objects.in_bulk([b.version_id for b in bucketed])
        series = []
        for b in sorted(bucketed, key=lambda b: (versions[b.version_id].created_at, b.version_id)):
            x, y = charts.series_points(b.t_first, b.t_last, b.low, b.high, max_points=points)
            series.append(
                {
                    "version": versions[b.version_id].version,
                    "observations": b.observations,
                    "downsampled": len(x) < b.observations,
                    "points": [
                        {"timestamp": datetime.fromtimestamp(t, UTC), "value": v}
                        for t, v in zip(x.tolist(), y.tolist(), strict=True)
                    ],
                }
            )
        breaches = selectors.breaches_in_range(
            model=model, start=start, end=end, segment=segment
        ).filter(threshold__metric=metric)
        body = {
            "metric": metric.name,
            "unit": metric.unit,
            "direction": metric.direction,
            "segment": segment,
            "from": start,
            "to": end,
            "series": series,
            "thresholds": [
                t
                for t in self._thresholds_by_metric(model).get(metric.pk, [])
                if t.segment == segment
            ],
            "breaches": breaches.select_related("incident"),
        }
        return Response(s.MetricSeriesSerializer(body).data)
