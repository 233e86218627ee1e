"""Reads of thresholds, metric definitions, observation series, threshold states and
ingestion batches, restricted to the models the user sees."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
from django.db import NotSupportedError
from django.db.models import (
    Count,
    Exists,
    FloatField,
    Func,
    IntegerField,
    Max,
    Min,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.http import Http404
from django.utils import timezone
from django.utils.formats import date_format

from apps.inventory import selectors as inventory_selectors
from apps.inventory.models import ModelVersion, RegisteredModel
from apps.monitoring import charts
from apps.monitoring.choices import ThresholdStatus
from apps.monitoring.ingestion import selectors as ingestion_selectors
from apps.monitoring.models import (
    Breach,
    IngestionBatch,
    MetricDefinition,
    Observation,
    Threshold,
    ThresholdState,
)


def metric_list() -> QuerySet[MetricDefinition]:
    return MetricDefinition.objects.order_by("name")


def threshold_list(*, user, model: RegisteredModel | None = None) -> QuerySet[Threshold]:
    """Thresholds of the models the user sees (of one model when given)."""
    visible = inventory_selectors.model_list(user=user).values("pk")
    qs = Threshold.objects.filter(model__in=visible)
    if model is not None:
        qs = qs.filter(model=model)
    return qs.select_related(
        "model", "version", "metric", "created_by", "supersedes", "signoff_request"
    )


def threshold_get(*, user, pk: int, model: RegisteredModel | None = None) -> Threshold:
    """The threshold, or 404 when it does not exist or its model is out of the user's reach."""
    threshold = threshold_list(user=user, model=model).filter(pk=pk).first()
    if threshold is None:
        raise Http404("No such threshold.")
    return threshold


def active_thresholds(*, model: RegisteredModel) -> QuerySet[Threshold]:
    """The thresholds monitoring evaluates: ACTIVE ones only, never drafts or expired ones."""
    return Threshold.objects.filter(model=model, status=ThresholdStatus.ACTIVE).select_related(
        "metric", "version"
    )


def active_threshold_for(threshold: Threshold) -> Threshold | None:
    """The active threshold covering the same model, version, segment and metric, if any."""
    return (
        Threshold.objects.filter(
            model_id=threshold.model_id,
            version_id=threshold.version_id,
            segment=threshold.segment,
            metric_id=threshold.metric_id,
            status=ThresholdStatus.ACTIVE,
        )
        .exclude(pk=threshold.pk)
        .select_related("metric", "version")
        .first()
    )


def expired_threshold_counts(*, user) -> dict[int, int]:
    """Expired (not yet renewed) thresholds per model id, for the models the user sees.

    One query, for the dashboard and the inventory flags.
    """
    visible = inventory_selectors.model_list(user=user).values("pk")
    rows = (
        Threshold.objects.filter(model__in=visible, status=ThresholdStatus.EXPIRED)
        .values("model_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return {row["model_id"]: row["n"] for row in rows}


def models_with_expired_thresholds(*, user) -> QuerySet[RegisteredModel]:
    """Visible models with at least one expired threshold, with ``expired_thresholds`` set."""
    return (
        inventory_selectors.model_list(user=user)
        .filter(thresholds__status=ThresholdStatus.EXPIRED)
        .annotate(expired_thresholds=Count("thresholds"))
        .order_by("name")
    )


# --- series, states and batches of the Monitoring tab ---------------------------------------


class _EpochSeconds(Func):
    """Seconds since 1970-01-01 UTC of a datetime column, as a float (PostgreSQL, SQLite)."""

    output_field = FloatField()

    def as_sql(self, compiler, connection, **extra):
        raise NotSupportedError(f"Metric series are not implemented on {connection.vendor}.")

    def as_postgresql(self, compiler, connection, **extra):
        # date_part gives a double; EXTRACT gives a numeric since PostgreSQL 14, twice slower.
        return super().as_sql(compiler, connection, template="date_part('epoch', %(expressions)s)")

    def as_sqlite(self, compiler, connection, **extra):
        # julianday() parses the stored ISO text; 2440587.5 is the Julian day of the epoch.
        template = "((julianday(%(expressions)s) - 2440587.5) * 86400.0)"
        return super().as_sql(compiler, connection, template=template)


class _Bucket(Func):
    """floor((epoch(timestamp) - start) / width): the time bucket of an observation.

    PostgreSQL rounds a cast to integer, so it floors explicitly; SQLite truncates, which is
    the floor here because the query only reads times at or after ``start``.
    """

    output_field = IntegerField()

    def __init__(self, timestamp, start: float, width: float):
        super().__init__(_EpochSeconds(timestamp), Value(float(start)), Value(float(width)))

    def as_sql(self, compiler, connection, **extra):
        raise NotSupportedError(f"Metric series are not implemented on {connection.vendor}.")

    def as_postgresql(self, compiler, connection, **extra):
        return self._render(compiler, connection, "FLOOR((%s - %s) / %s)::bigint")

    def as_sqlite(self, compiler, connection, **extra):
        return self._render(compiler, connection, "CAST((%s - %s) / %s AS INTEGER)")

    def _render(self, compiler, connection, template: str):
        parts, params = [], []
        for expression in self.get_source_expressions():
            sql, p = compiler.compile(expression)
            parts.append(sql)
            params.extend(p)
        return template % tuple(parts), params


@dataclass(frozen=True)
class BucketedSeries:
    """One (metric, version) series of one segment reduced to time buckets (time order):
    first and last time (epoch seconds), lowest and highest value, and observation count."""

    metric_id: int
    version_id: int
    t_first: np.ndarray
    t_last: np.ndarray
    low: np.ndarray
    high: np.ndarray
    count: np.ndarray

    @property
    def observations(self) -> int:
        return int(self.count.sum())


def model_observations(*, model: RegisteredModel) -> QuerySet[Observation]:
    return Observation.objects.filter(version__in=ModelVersion.objects.filter(model=model))


def observation_span(*, model: RegisteredModel) -> tuple[datetime | None, datetime | None]:
    """The first and the last observation time of the model (one query)."""
    span = model_observations(model=model).aggregate(first=Min("timestamp"), last=Max("timestamp"))
    return span["first"], span["last"]


def observed_segments(*, model: RegisteredModel, start: datetime, end: datetime) -> list[str]:
    """The segments the model has observations of in ``[start, end)`` ("" first)."""
    rows = (
        model_observations(model=model)
        .filter(timestamp__gte=start, timestamp__lt=end)
        .values_list("segment", flat=True)
        .distinct()
        .order_by("segment")
    )
    return list(rows)


def series_buckets(
    *,
    model: RegisteredModel,
    start: datetime,
    end: datetime,
    segment: str = "",
    metric_ids: list[int] | None = None,
    buckets: int = charts.SQL_BUCKETS,
) -> QuerySet:
    """The bucketed rows ``metric_series`` reads: (metric, version, bucket, first and last
    time, lowest and highest value, count), ordered by series and time."""
    t0 = start.timestamp()
    width = charts.bucket_width(t0, end.timestamp(), buckets)
    # The version ids as literals (one small query): PostgreSQL then estimates the rows from
    # its statistics and aggregates in a hash, where a join to the versions table made it
    # expect a few thousand rows and sort a million on disk.
    version_ids = list(ModelVersion.objects.filter(model=model).values_list("pk", flat=True))
    qs = Observation.objects.filter(
        version_id__in=version_ids, timestamp__gte=start, timestamp__lt=end, segment=segment
    )
    if metric_ids is not None:
        qs = qs.filter(metric_id__in=metric_ids)
    # The bucket is the only per-row computation (parsing times is what costs on SQLite);
    # the first and last times are plain MIN/MAX, converted for the few hundred buckets.
    return (
        qs.annotate(bucket=_Bucket("timestamp", t0, width))
        .values_list("metric_id", "version_id", "bucket")
        .annotate(
            t_first=Min("timestamp"),
            t_last=Max("timestamp"),
            low=Min("value"),
            high=Max("value"),
            n=Count("*"),
        )
        .order_by("metric_id", "version_id", "bucket")
    )


def metric_series(**query) -> list[BucketedSeries]:
    """Every series of the model in ``[start, end)`` for ``segment``, each reduced in SQL to
    at most ``buckets`` time buckets — one query whatever the number of metrics, versions
    and observations (a million points come back as a few hundred rows per series). Takes
    the arguments of ``series_buckets``."""
    rows = series_buckets(**query)
    grouped: dict[tuple[int, int], list[tuple]] = {}
    for metric_id, version_id, _bucket, t_first, t_last, low, high, n in rows:
        grouped.setdefault((metric_id, version_id), []).append(
            (t_first.timestamp(), t_last.timestamp(), low, high, n)
        )
    result = []
    for (metric_id, version_id), items in grouped.items():
        table = np.asarray(items, dtype=float)
        result.append(
            BucketedSeries(
                metric_id=metric_id,
                version_id=version_id,
                t_first=table[:, 0],
                t_last=table[:, 1],
                low=table[:, 2],
                high=table[:, 3],
                count=table[:, 4].astype(int),
            )
        )
    return result


def threshold_states(*, model: RegisteredModel) -> list[Threshold]:
    """The model's active thresholds, each with ``current_states`` (its latest evaluation
    per version, newest version first). Two queries."""
    states = ThresholdState.objects.select_related("version").order_by("-version__created_at")
    return list(
        active_thresholds(model=model)
        .prefetch_related(Prefetch("states", queryset=states, to_attr="current_states"))
        .order_by("metric__name", "segment", "version__version")
    )


def breaches_in_range(
    *, model: RegisteredModel, start: datetime, end: datetime, segment: str = ""
) -> QuerySet[Breach]:
    """Breaches of the model's thresholds for ``segment`` observed in ``[start, end]``."""
    return (
        Breach.objects.filter(
            threshold__model=model,
            threshold__segment=segment,
            observed_at__gte=start,
            observed_at__lte=end,
        )
        .select_related("threshold__metric", "version")
        .order_by("observed_at", "pk")
    )


def model_batch_list(*, user, model: RegisteredModel) -> QuerySet[IngestionBatch]:
    """Ingestion batches of the model the user may see: those scoped to it, and unscoped
    ones holding observations of it."""
    of_model = Exists(
        Observation.objects.filter(
            batch=OuterRef("pk"), version__in=ModelVersion.objects.filter(model=model)
        )
    )
    return (
        ingestion_selectors.batch_list(user=user)
        .filter(Q(scope_model=model) | (Q(scope_model__isnull=True) & of_model))
        .order_by("-created_at", "-pk")
    )


def model_metrics(*, model: RegisteredModel) -> QuerySet[MetricDefinition]:
    """The metrics the model has observations of, each annotated with its latest
    whole-population observation (``latest_value``, ``latest_at``, ``latest_version``).
    One query: an EXISTS and three index lookups per metric definition."""
    observations = model_observations(model=model)
    latest = observations.filter(metric=OuterRef("pk"), segment="").order_by(
        "-timestamp", "-version_id"
    )
    return (
        MetricDefinition.objects.filter(Exists(observations.filter(metric=OuterRef("pk"))))
        .annotate(
            latest_value=Subquery(latest.values("value")[:1]),
            latest_at=Subquery(latest.values("timestamp")[:1]),
            latest_version=Subquery(latest.values("version__version")[:1]),
        )
        .order_by("name")
    )


# --- the Monitoring tab's charts -------------------------------------------------------------

DRIFT_PREFIX = "drift."
DRIFT_CHART_HEIGHT = 190  # drift metrics are many per run: smaller charts


def _bands_for(thresholds: list, version_ids: list[int]):
    """The threshold drawn as bands: the model-wide one, else that of the newest version."""
    if not thresholds:
        return None, None
    chosen = next((t for t in thresholds if t.version_id is None), None)
    if chosen is None:
        chosen = next((t for t in thresholds if t.version_id in version_ids), thresholds[0])
    scope = f" ({chosen.version.version})" if chosen.version_id else ""
    bands = charts.Bands(
        direction=chosen.direction,
        warning=chosen.warning_bound,
        critical=chosen.critical_bound,
        label=f"Threshold #{chosen.pk}{scope}",
    )
    return chosen, bands


def _marker(breach) -> charts.Marker:
    bound = breach.critical_bound if breach.state == "critical" else breach.warning_bound
    when = date_format(timezone.localtime(breach.observed_at), "j M Y, H:i")
    text = (
        f"{breach.get_state_display()} breach of {breach.threshold.metric.name} "
        f"{breach.version.version}: {charts.format_value(breach.value)} "
        f"(bound {charts.format_value(bound)}) at {when}"
    )
    return charts.Marker(
        at=breach.observed_at.timestamp(), value=breach.value, state=breach.state, text=text
    )


def metric_charts(*, model, start, end, segment: str, thresholds: list) -> list[dict]:
    """One chart per metric observed in the range: a line per version, the bands of the
    metric's active threshold, its breaches. Four queries whatever the data size."""
    bucketed = metric_series(model=model, start=start, end=end, segment=segment)
    metric_ids = sorted({b.metric_id for b in bucketed})
    metrics = MetricDefinition.objects.in_bulk(metric_ids)
    versions = ModelVersion.objects.in_bulk({b.version_id for b in bucketed})
    breaches: dict[int, list] = {}
    for breach in breaches_in_range(model=model, start=start, end=end, segment=segment):
        breaches.setdefault(breach.threshold.metric_id, []).append(breach)
    by_metric: dict[int, list] = {}
    for b in bucketed:
        by_metric.setdefault(b.metric_id, []).append(b)
    tz = timezone.get_current_timezone()
    result = []
    for metric_id, series_list in by_metric.items():
        metric = metrics[metric_id]
        series_list.sort(key=lambda b: (versions[b.version_id].created_at, b.version_id))
        series = []
        for b in series_list:
            x, y = charts.series_points(b.t_first, b.t_last, b.low, b.high)
            series.append(charts.Series(label=versions[b.version_id].version, x=x, y=y))
        own = [t for t in thresholds if t.metric_id == metric_id and t.segment == segment]
        threshold, bands = _bands_for(own, [b.version_id for b in reversed(series_list)])
        drift = metric.name.startswith(DRIFT_PREFIX)
        chart = charts.build_chart(
            chart_id=f"metric-{metric_id}",
            title=metric.name,
            unit=metric.unit,
            series=series,
            start=start,
            end=end,
            tz=tz,
            bands=bands,
            markers=[_marker(b) for b in breaches.get(metric_id, [])],
            height=DRIFT_CHART_HEIGHT if drift else charts.HEIGHT,
        )
        result.append(
            {
                "metric": metric,
                "chart": chart,
                "threshold": threshold,
                "observations": sum(b.observations for b in series_list),
                "drift": drift,
            }
        )
    result.sort(key=lambda c: (c["drift"], c["metric"].name))
    return result
