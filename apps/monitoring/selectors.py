"""Reads of thresholds, metric definitions, observation series, threshold states and
ingestion batches, restricted to the models the user sees."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from django.db import NotSupportedError, connection
from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.http import Http404
from django.utils import timezone
from django.utils.formats import date_format

from apps.inventory import selectors as inventory_selectors
from apps.inventory.models import ModelVersion, RegisteredModel
from apps.monitoring import charts, rollups
from apps.monitoring.choices import ThresholdStatus
from apps.monitoring.ingestion import selectors as ingestion_selectors
from apps.monitoring.joined import instance, with_children
from apps.monitoring.models import (
    Breach,
    IngestionBatch,
    IngestionBatchModel,
    MetricDefinition,
    Observation,
    ObservationRollup,
    ObservationSeries,
    Threshold,
)


def metric_list() -> QuerySet[MetricDefinition]:
    return MetricDefinition.objects.order_by("name")


def threshold_list(*, user, model: RegisteredModel | None = None) -> QuerySet[Threshold]:
    """Thresholds of the models the user sees (of one model when given)."""
    visible = inventory_selectors.model_list(user=user).values("pk")
    qs = Threshold.objects.filter(model__in=visible)
    if model is not None:
        qs = qs.filter(model=model)
    # Lists show the replaced threshold and the sign-off request by id only; joining their rows
    # made the API's list query take longer to plan (≈50 ms) than to run (1.5 ms).
    return qs.select_related("model", "version", "metric", "created_by")


def threshold_get(*, user, pk: int, model: RegisteredModel | None = None) -> Threshold:
    """The threshold, or 404 when it does not exist or its model is out of the user's reach."""
    threshold = (
        threshold_list(user=user, model=model)
        .select_related("supersedes", "signoff_request")
        .filter(pk=pk)
        .first()
    )
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


def _versions(model: RegisteredModel) -> dict[int, ModelVersion]:
    """The model's versions by id (the columns the charts need), read once per model object:
    one small query a page."""
    versions = model.__dict__.get("_monitoring_versions")
    if versions is None:
        rows = ModelVersion.objects.filter(model=model).only("pk", "version", "created_at")
        versions = {v.pk: v for v in rows}
        model.__dict__["_monitoring_versions"] = versions
    return versions


def _version_ids(model: RegisteredModel) -> list[int]:
    return list(_versions(model))


def _model_series(*, model: RegisteredModel) -> QuerySet[ObservationSeries]:
    # The version ids as literals: the series table is then read by its key's first
    # column, where a join to the versions made PostgreSQL scan it per metric.
    return ObservationSeries.objects.filter(version_id__in=_version_ids(model))


@dataclass(frozen=True)
class SeriesOverview:
    """What the series table tells of a model for its Monitoring tab: the time span of its
    observations, the segments observed in the range ("" first), and the versions and
    metrics of the series of the segments asked for (labels and names of the charts)."""

    first_at: datetime | None
    last_at: datetime | None
    segments: list[str]
    versions: dict[int, ModelVersion]
    metrics: dict[int, MetricDefinition]


OVERVIEW_VERSION_FIELDS = ("id", "version", "created_at")
OVERVIEW_METRIC_FIELDS = ("id", "name", "description", "unit", "direction")


def series_overview(
    *,
    model: RegisteredModel,
    segments: list[str],
    start: datetime | None = None,
    end: datetime | None = None,
) -> SeriesOverview:
    """The model's ``SeriesOverview`` in one query on the series table (joined to the
    versions and the metric catalogue): a row per series of ``segments``, with its version
    and metric, and a row per other segment. ``start``/``end`` bound the range the
    segments are listed for (None: every segment observed)."""
    detail = Q(segment__in=sorted(set(segments)))

    def detailed(path: str):
        return Case(When(detail, then=F(path)), default=None)

    columns = {f"v_{name}": detailed(f"version__{name}") for name in OVERVIEW_VERSION_FIELDS}
    columns |= {f"m_{name}": detailed(f"metric__{name}") for name in OVERVIEW_METRIC_FIELDS}
    if start is None or end is None:
        observed = Max(Value(1))
    else:
        in_range = Q(first_at__lt=end, last_at__gte=start)
        observed = Max(Case(When(in_range, then=Value(1)), default=Value(0)))
    rows = list(
        ObservationSeries.objects.filter(version__model=model)
        .values("segment", **columns)
        .annotate(first=Min("first_at"), last=Max("last_at"), observed=observed)
        .order_by()
    )
    versions: dict[int, ModelVersion] = {}
    metrics: dict[int, MetricDefinition] = {}
    db = ObservationSeries.objects.db
    for row in rows:
        if row["v_id"] is None:  # the row of another segment
            continue
        if row["v_id"] not in versions:
            values = {name: row[f"v_{name}"] for name in OVERVIEW_VERSION_FIELDS}
            versions[row["v_id"]] = instance(ModelVersion, db, values)
        if row["m_id"] not in metrics:
            values = {name: row[f"m_{name}"] for name in OVERVIEW_METRIC_FIELDS}
            metrics[row["m_id"]] = instance(MetricDefinition, db, values)
    return SeriesOverview(
        first_at=min((row["first"] for row in rows), default=None),
        last_at=max((row["last"] for row in rows), default=None),
        segments=sorted({row["segment"] for row in rows if row["observed"]}),
        versions=versions,
        metrics=metrics,
    )


class _Sql:
    """The bits of the series query that differ between PostgreSQL and SQLite."""

    def __init__(self):
        self.postgresql = connection.vendor == "postgresql"
        if connection.vendor not in ("postgresql", "sqlite"):
            raise NotSupportedError(f"Metric series are not implemented on {connection.vendor}.")
        self.params: dict = {}

    def p(self, value) -> str:
        """A named placeholder for ``value`` (named: a fragment may appear twice)."""
        if isinstance(value, datetime):
            value = value if self.postgresql else connection.ops.adapt_datetimefield_value(value)
        name = f"p{len(self.params)}"
        self.params[name] = value
        return f"%({name})s"

    def ids(self, values: list[int]) -> str:
        if self.postgresql:
            return f"= ANY({self.p(list(values))})"
        return "IN (" + ", ".join(self.p(v) for v in values) + ")" if values else "IN (NULL)"

    def epoch(self, column: str) -> str:
        # date_part gives a double; EXTRACT gives a numeric since PostgreSQL 14, twice slower.
        if self.postgresql:
            return f"date_part('epoch', {column})"
        # Whole seconds exactly (julianday's float misplaces times on a bucket's edge),
        # plus the milliseconds.
        return (
            f"(CAST(strftime('%%s', {column}) AS REAL) + CAST(strftime('%%f', {column}) AS REAL)"
            f" - CAST(strftime('%%S', {column}) AS REAL))"
        )

    def floor(self, expression: str) -> str:
        # Times are after 1970: SQLite's truncation is the floor.
        return f"FLOOR({expression})" if self.postgresql else f"CAST({expression} AS INTEGER)"

    def each(self, table: str, alias: str, conditions: str) -> str:
        """Join the rows of ``table`` matching each outer row: on PostgreSQL a LATERAL
        subquery (OFFSET 0 keeps it one index range scan per outer row, never a scan of
        the whole table), on SQLite a join its planner does as nested index lookups."""
        if self.postgresql:
            return (
                f"CROSS JOIN LATERAL (SELECT {alias}.* FROM {table} {alias} "  # noqa: S608
                f"WHERE {conditions} OFFSET 0) {alias}"
            )
        return f"JOIN {table} {alias} ON {conditions}"


def series_buckets(
    *,
    model: RegisteredModel,
    start: datetime,
    end: datetime,
    segment: str = "",
    metric_ids: list[int] | None = None,
    buckets: int = charts.SQL_BUCKETS,
    source: str = "auto",
    version_ids: list[int] | None = None,
) -> list[tuple]:
    """The bucketed rows ``metric_series`` reads: (metric, version, bucket, first and last
    time in epoch seconds, lowest and highest value, count), ordered by series and time.

    Buckets are aligned to the Unix epoch. A range whose buckets are a day wide or more is
    read from the daily rollups, an hour or more from the hourly ones (and the raw rows of
    the days holding at most one observation an hour, which have no hourly rows), shorter
    ones from the raw rows; with a rollup the range is widened to whole buckets. Every
    read is one index range per series (the series come from the series table), so the
    cost follows the series and the range, never the store. ``source="raw"`` reads the raw
    rows whatever the width (the rollups' check). ``version_ids``: the model's versions to
    read (default: every version of the model, one query the first time)."""
    t0, t1 = start.timestamp(), end.timestamp()
    width, rollup = rollups.chart_width(t0, t1, buckets)
    if rollup is not None:
        t0, t1 = (t0 // width) * width, -(-t1 // width) * width
        start, end = datetime.fromtimestamp(t0, UTC), datetime.fromtimestamp(t1, UTC)
    if source == "raw":
        rollup = None
    q = _Sql()
    obs = Observation._meta.db_table
    rollup_table = ObservationRollup._meta.db_table
    if version_ids is None:
        version_ids = _version_ids(model)
    series = (
        "(SELECT version_id, metric_id, segment FROM "  # noqa: S608
        f"{ObservationSeries._meta.db_table} WHERE version_id {q.ids(version_ids)} "
        f"AND segment = {q.p(segment)} AND first_at < {q.p(end)} AND last_at >= {q.p(start)}"
        + (f" AND metric_id {q.ids(metric_ids)}" if metric_ids is not None else "")
        + ") s"
    )
    same = "{a}.version_id = {b}.version_id AND {a}.metric_id = {b}.metric_id " + (
        "AND {a}.segment = {b}.segment"
    )
    w = q.p(float(width))
    # Rows of the union: series, bucket, first and last time, lowest and highest value,
    # count; times stay timestamps until the few hundred buckets are made.
    raw_columns = (
        f"o.metric_id, o.version_id, {q.floor(q.epoch('o.timestamp') + ' / ' + w)} AS b, "
        "o.timestamp AS t0, o.timestamp AS t1, o.value AS lo, o.value AS hi, 1 AS n"
    )
    rollup_columns = (
        f"r.metric_id, r.version_id, {q.floor('r.bucket / ' + w)} AS b, "
        "r.first_at AS t0, r.last_at AS t1, r.low AS lo, r.high AS hi, r.count AS n"
    )
    if rollup is None:
        parts = [
            f"SELECT {raw_columns} FROM {series} "  # noqa: S608
            + q.each(
                obs,
                "o",
                same.format(a="o", b="s")
                + f" AND o.timestamp >= {q.p(start)} AND o.timestamp < {q.p(end)}",
            )
        ]
    else:
        parts = [
            f"SELECT {rollup_columns} FROM {series} "  # noqa: S608
            + q.each(
                rollup_table,
                "r",
                same.format(a="r", b="s")
                + f" AND r.width = {q.p(rollup)} AND r.bucket >= {q.p(int(t0))} "
                f"AND r.bucket < {q.p(int(t1))}",
            )
        ]
        if rollup == rollups.HOUR:
            # Days without hourly rows: their raw rows, at most one an hour.
            day_lo = int(t0) // rollups.DAY * rollups.DAY
            parts.append(
                f"SELECT {raw_columns} FROM {series} "  # noqa: S608
                + q.each(
                    rollup_table,
                    "d",
                    same.format(a="d", b="s")
                    + f" AND d.width = {q.p(rollups.DAY)} AND d.bucket >= {q.p(day_lo)} "
                    f"AND d.bucket < {q.p(int(t1))} AND NOT d.dense",
                )
                + " "
                + q.each(
                    obs,
                    "o",
                    same.format(a="o", b="d")
                    + " AND o.timestamp >= d.first_at AND o.timestamp <= d.last_at "
                    f"AND o.timestamp >= {q.p(start)} AND o.timestamp < {q.p(end)}",
                )
            )
    union = " UNION ALL ".join(parts)
    sql = (
        f"SELECT metric_id, version_id, b, {q.epoch('MIN(t0)')}, {q.epoch('MAX(t1)')}, "  # noqa: S608
        f"MIN(lo), MAX(hi), SUM(n) FROM ({union}) u GROUP BY metric_id, version_id, b "
        "ORDER BY metric_id, version_id, b"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, q.params)
        return cursor.fetchall()


def metric_series(**query) -> list[BucketedSeries]:
    """Every series of the model in ``[start, end)`` for ``segment``, each reduced in SQL to
    at most ``buckets`` time buckets — one query whatever the number of metrics, versions
    and observations (a million points come back as a few hundred rows per series). Takes
    the arguments of ``series_buckets``."""
    rows = series_buckets(**query)
    grouped: dict[tuple[int, int], list[tuple]] = {}
    for metric_id, version_id, _bucket, t_first, t_last, low, high, n in rows:
        grouped.setdefault((metric_id, version_id), []).append((t_first, t_last, low, high, n))
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


STATE_VERSION_FIELDS = ("id", "version", "created_at")


def threshold_states(*, model: RegisteredModel) -> list[Threshold]:
    """The model's active thresholds, each with ``current_states`` (its latest evaluation
    per version, newest version first). One query: the states come by a join."""
    thresholds = active_thresholds(model=model).order_by(
        "metric__name",
        "segment",
        "version__version",
        "pk",
        F("states__version__created_at").desc(),
        "states__pk",
    )
    return with_children(
        thresholds, "states", related={"version": STATE_VERSION_FIELDS}, to_attr="current_states"
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
    """Ingestion batches of the model the user may see: those scoped to it, and those the
    loader recorded as holding observations of it (an index step, not a look into the
    store)."""
    holding = IngestionBatchModel.objects.filter(model=model).values("batch_id")
    return (
        ingestion_selectors.batch_list(user=user)
        .filter(Q(scope_model=model) | Q(pk__in=holding))
        .order_by("-created_at", "-pk")
    )


def model_metrics(*, model: RegisteredModel) -> QuerySet[MetricDefinition]:
    """The metrics the model has observations of, each annotated with its latest
    whole-population observation (``latest_value``, ``latest_at``, ``latest_version``).
    One query on the series table the loader maintains: a few rows per model, whatever
    the number of observations."""
    series = _model_series(model=model)
    latest = series.filter(metric=OuterRef("pk"), segment="").order_by("-last_at", "-version_id")
    return (
        MetricDefinition.objects.filter(Exists(series.filter(metric=OuterRef("pk"))))
        .annotate(
            latest_value=Subquery(latest.values("last_value")[:1]),
            latest_at=Subquery(latest.values("last_at")[:1]),
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


def metric_charts(
    *, model, start, end, segment: str, thresholds: list, overview: SeriesOverview
) -> list[dict]:
    """One chart per metric observed in the range: a line per version, the bands of the
    metric's active threshold, its breaches. Two queries whatever the data size (the
    series and the breaches); the versions and metrics are those of the ``overview``,
    which holds the series of ``segment``."""
    metrics, versions = overview.metrics, overview.versions
    bucketed = metric_series(
        model=model, start=start, end=end, segment=segment, version_ids=sorted(versions)
    )
    breaches: dict[int, list] = {}
    for breach in breaches_in_range(model=model, start=start, end=end, segment=segment):
        breaches.setdefault(breach.threshold.metric_id, []).append(breach)
    by_metric: dict[int, list] = {}
    for b in bucketed:
        # A series loaded after the overview was read shows on the next request.
        if b.metric_id in metrics and b.version_id in versions:
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


# --- full-resolution observations of one metric (keyset pages, CSV) ------------------------


def observation_page(
    *,
    model: RegisteredModel,
    metric: MetricDefinition,
    start: datetime,
    end: datetime,
    segment: str = "",
    after: tuple[int, datetime] | None = None,
    limit: int = 1000,
) -> list[tuple[int, str, datetime, float]]:
    """Up to ``limit`` observations (version id, version, time, value) of the metric in
    ``[start, end)`` for ``segment``, in (version, time) order, after the ``after`` key.

    Each version is one range of the primary key read from the key on (an index step
    whatever the offset), so the cost of a page does not grow with how far it is; one
    query per version the page reaches (a page ends inside one version, or reaches the
    next)."""
    # The versions holding this series (the series table), in id order.
    versions = list(
        _model_series(model=model)
        .filter(metric=metric, segment=segment, first_at__lt=end, last_at__gte=start)
        .order_by("version_id")
        .values_list("version_id", "version__version")
    )
    rows: list[tuple[int, str, datetime, float]] = []
    for version_id, label in versions:
        if after is not None and version_id < after[0]:
            continue
        qs = Observation.objects.filter(
            version_id=version_id,
            metric=metric,
            segment=segment,
            timestamp__gte=start,
            timestamp__lt=end,
        )
        if after is not None and version_id == after[0]:
            qs = qs.filter(timestamp__gt=after[1])
        found = qs.order_by("timestamp").values_list("timestamp", "value")[: limit - len(rows)]
        rows.extend((version_id, label, t, v) for t, v in found)
        if len(rows) >= limit:
            break
    return rows
