"""Monitoring at T: each active threshold with its newest value, the value its rule evaluates
over the window ending at T, its state and a daily chart series; and the latest drift run (the
snapshot's ``metrics`` and ``drift``)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from django.db import NotSupportedError, connections, models
from django.db.models import (
    Case,
    Count,
    ExpressionWrapper,
    F,
    Func,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Mod

from apps.inventory.choices import VersionStage
from apps.monitoring import bounds, rollups
from apps.monitoring.choices import DriftRunStatus, Evaluation, ThresholdStatus
from apps.monitoring.evaluation import outcome
from apps.monitoring.models import (
    DriftColumn,
    DriftRun,
    MetricDefinition,
    Observation,
    ObservationRollup,
    ObservationSeries,
    Threshold,
)
from apps.reports.batch import Part
from apps.reports.history import Record
from apps.reports.snapshot.approvals import signoff
from apps.reports.snapshot.context import Context
from apps.reports.snapshot.inventory import Version
from apps.reports.snapshot.values import iso, label, number, text

DAY, HOUR = rollups.DAY, rollups.HOUR

#: Days of observations drawn in a metric's chart (one point per day).
SERIES_DAYS = 90
THRESHOLD_FIELDS = (
    "metric",
    "version",
    "segment",
    "direction",
    "warning_bound",
    "critical_bound",
    "evaluation",
    "window_days",
    "min_samples",
    "rationale",
    "review_by",
    "status",
    "signoff_request",
    "activated_at",
    "ended_at",
)
DRIFT_RUN_COLUMNS = (
    "observed_at",
    "version__version",
    "columns_total",
    "columns_drifted",
    "drift_share",
    "dataset_drift",
)
DRIFT_COLUMN_COLUMNS = ("column", "kind", "method", "score", "threshold", "drifted", "psi")


class _DaysBefore(Func):
    """floor((T - timestamp) / 1 day): the day bucket, aligned to T, of a time at or before T."""

    output_field = models.IntegerField()

    def __init__(self, expression, moment: dt.datetime):
        super().__init__(Value(moment.timestamp()), expression)

    def as_sql(self, compiler, connection, **extra):
        raise NotSupportedError(f"Metric buckets are not implemented on {connection.vendor}.")

    def as_postgresql(self, compiler, connection, **extra):
        return self._render(
            compiler, connection, "FLOOR((%s - date_part('epoch', %s)) / 86400.0)::bigint"
        )

    def as_sqlite(self, compiler, connection, **extra):
        # julianday() parses the stored ISO text; 2440587.5 is the Julian day of the epoch.
        # The difference is never negative, so CAST's truncation is the floor.
        return self._render(
            compiler,
            connection,
            "CAST((%s - (julianday(%s) - 2440587.5) * 86400.0) / 86400.0 AS INTEGER)",
        )

    def _render(self, compiler, connection, template: str):
        parts, params = [], []
        for expression in self.get_source_expressions():
            sql, p = compiler.compile(expression)
            parts.append(sql)
            params.extend(p)
        return template % tuple(parts), params


class _HourOf(Func):
    """The start (Unix seconds) of the UTC hour a time lies in; SQLite only (PostgreSQL reads
    the spans through a join, ``_raw_buckets``)."""

    output_field = models.BigIntegerField()

    def as_sql(self, compiler, connection, **extra):
        raise NotSupportedError(f"Hour buckets are not implemented on {connection.vendor}.")

    def as_sqlite(self, compiler, connection, **extra):
        (expression,) = self.get_source_expressions()
        sql, params = compiler.compile(expression)
        return f"(CAST(strftime('%%s', {sql}) AS INTEGER) / 3600 * 3600)", params


def _thresholds(ctx: Context):
    return Threshold.objects.filter(
        model=ctx.model, activated_at__isnull=False, activated_at__lte=ctx.moment
    )


def _latest_run(ctx: Context):
    """The pk of the newest drift run that had succeeded by T."""
    finished = Q(finished_at__lte=ctx.moment) | Q(
        finished_at__isnull=True, created_at__lte=ctx.moment
    )
    runs = DriftRun.objects.filter(
        finished, version__model=ctx.model, status=DriftRunStatus.SUCCEEDED
    )
    return Subquery(runs.order_by("-observed_at", "-pk").values("pk")[:1])


OBSERVED_COLUMNS = (
    "version_id",
    "metric_id",
    "segment",
    "version__version",
    "version__created_at",
    "metric__name",
    "metric__description",
    "metric__unit",
    "metric__direction",
)


def _observed_series(ctx: Context) -> QuerySet:
    """The model's series over all its segments ("") observed within ``SERIES_DAYS`` days of
    T: one row per version and metric (the series table holds their span)."""
    since = ctx.moment - dt.timedelta(days=SERIES_DAYS)
    return ObservationSeries.objects.filter(
        version__model=ctx.model, segment="", first_at__lte=ctx.moment, last_at__gt=since
    )


def reads(ctx: Context) -> dict[str, Part]:
    """The thresholds activated by T, the series observed in the chart's days before T, and
    the newest drift run by T with its columns."""
    return {
        "thresholds": ctx.part(_thresholds(ctx), THRESHOLD_FIELDS),
        "observed_series": Part(_observed_series(ctx), OBSERVED_COLUMNS),
        "drift_run": Part(DriftRun.objects.filter(pk=_latest_run(ctx)), DRIFT_RUN_COLUMNS),
        "drift_columns": Part(
            DriftColumn.objects.filter(run_id=_latest_run(ctx)),
            DRIFT_COLUMN_COLUMNS,
            order_by=("-drifted", "column"),
        ),
    }


def active(ctx: Context) -> list[Record]:
    """The thresholds active at T."""
    records = ctx.records(
        _thresholds(ctx), THRESHOLD_FIELDS, restore_deleted=False, rows=ctx.rows["thresholds"]
    )
    return [r for r in records if r.values["status"] == ThresholdStatus.ACTIVE]


def targets(active: list[Record], versions: list[Record]) -> dict[Any, Any]:
    """The version each threshold watches: its own, or (without one) the production version
    at T, else the newest (``versions``: the versions at T, newest first)."""
    production = next(
        (v.pk for v in versions if v.values["stage"] == VersionStage.PRODUCTION), None
    )
    fallback = production if production is not None else (versions[0].pk if versions else None)
    return {r.pk: r.values["version_id"] or fallback for r in active}


def _days(active: list[Record]) -> int:
    return max([SERIES_DAYS, *(r.values["window_days"] or 0 for r in active)])


def _threshold_keys(active: list[Record], targets: dict[Any, Any]) -> set[tuple]:
    return {
        (targets[r.pk], r.values["metric_id"], r.values["segment"] or "")
        for r in active
        if targets[r.pk] is not None
    }


def _observed_keys(ctx: Context) -> set[tuple]:
    return {(r["version_id"], r["metric_id"], r["segment"]) for r in ctx.rows["observed_series"]}


def _series_keys(ctx: Context, active: list[Record], targets: dict[Any, Any]) -> set[tuple]:
    """The series whose days the card draws: those the thresholds watch and every series
    observed in the chart's days."""
    return _threshold_keys(active, targets) | _observed_keys(ctx)


def value_reads(ctx: Context, active: list[Record], targets: dict[Any, Any]) -> dict[str, Part]:
    """What the active thresholds' values and the charts need: the thresholds' metrics, each
    one's newest value at or before T, and the hourly rollups of every charted series added
    up per day, and their sparse days."""
    keys = _series_keys(ctx, active, targets)
    if not keys and not active:
        return {}
    days = _days(active)
    parts = {
        "sparse_days": Part(_sparse_days(keys, ctx.moment, days), SPARSE_DAY_COLUMNS),
        # Grouped by the database: read on its own, not in the batch.
        "hour_days": Part(_hour_days(keys, ctx.moment, days), HOUR_DAY_COLUMNS, alone=True),
    }
    if active:
        parts["metric_definitions"] = Part(
            MetricDefinition.objects.filter(pk__in=sorted({r.values["metric_id"] for r in active})),
            ("pk", "name", "description", "unit", "direction"),
        )
    latest = _latest_values(targets, ctx.moment)
    if latest is not None:
        parts["latest_values"] = Part(latest, ("pk", "latest_value", "latest_at"))
    return parts


def buckets(
    ctx: Context, active: list[Record], targets: dict[Any, Any]
) -> dict[tuple, dict[int, tuple]]:
    """The day buckets of every series the card draws (``_day_buckets``), from the rows read
    by ``value_reads`` and one more query for the raw rows."""
    keys = _series_keys(ctx, active, targets)
    if not keys:
        return {}
    return _day_buckets(
        keys,
        ctx.moment,
        _days(active),
        rows={name: ctx.rows[name] for name in ("hour_days", "sparse_days")},
    )


def _chart_series(by_day: dict[int, tuple]) -> list[list]:
    """A series' daily means over the ``SERIES_DAYS`` days before T as [time of the day's
    last observation, mean], newest first."""
    return [
        [iso(last), number(total / n)]
        for day, (n, total, _low, _high, last) in sorted(by_day.items(), reverse=True)
        if day < SERIES_DAYS and n
    ]


def observed(ctx: Context, buckets: dict[tuple, dict[int, tuple]]) -> list[dict[str, Any]]:
    """Every metric observed over all segments in the ``SERIES_DAYS`` days before T,
    thresholded or not, with a daily series per version (oldest version first), by metric
    name."""
    by_metric: dict[Any, dict[str, Any]] = {}
    for row in sorted(
        ctx.rows["observed_series"], key=lambda r: (r["version__created_at"], r["version_id"])
    ):
        series = _chart_series(buckets.get((row["version_id"], row["metric_id"], ""), {}))
        if not series:
            continue
        entry = by_metric.setdefault(
            row["metric_id"],
            {
                "metric": row["metric__name"],
                "description": text(row["metric__description"]),
                "unit": text(row["metric__unit"]),
                "direction": row["metric__direction"],
                "versions": [],
            },
        )
        entry["versions"].append({"version": row["version__version"], "series": series})
    return sorted(by_metric.values(), key=lambda e: e["metric"])


def metrics(
    ctx: Context,
    versions: list[Version],
    active: list[Record],
    targets: dict[Any, Any],
    requests: dict,
    buckets: dict[tuple, dict[int, tuple]],
) -> list[dict[str, Any]]:
    """One entry per threshold active at T (``active``, watching ``targets``), with the
    newest value at or before T, the value its rule evaluates over the window ending at T,
    the state, and a daily chart series (``buckets``: the series' days)."""
    if not active:
        return []
    names = {v.pk: v.entry["version"] for v in versions}
    definitions = {m["pk"]: m for m in ctx.rows["metric_definitions"]}
    latest = {
        row["pk"]: (row["latest_value"], row["latest_at"])
        for row in ctx.rows.get("latest_values", [])
        if row["latest_at"] is not None
    }
    entries = []
    for r in active:
        v = r.values
        target = targets[r.pk]
        metric = definitions.get(v["metric_id"])
        key = (target, v["metric_id"], v["segment"] or "")
        by_day = buckets.get(key, {})
        value, observed_at = latest.get(r.pk, (None, None))
        evaluated, state = _evaluate(v, value=number(value), by_day=by_day)
        entries.append(
            {
                "metric": metric["name"] if metric else "",
                "description": text(metric["description"]) if metric else "",
                "unit": text(metric["unit"]) if metric else "",
                "direction": metric["direction"] if metric else "",
                "segment": v["segment"] or "",
                "version": names.get(v["version_id"]) if v["version_id"] else None,
                "threshold": {
                    "id": r.pk,
                    "direction": v["direction"],
                    "warning_bound": number(v["warning_bound"]),
                    "critical_bound": number(v["critical_bound"]),
                    "evaluation": v["evaluation"],
                    "evaluation_label": label(Evaluation, v["evaluation"]),
                    "window_days": v["window_days"],
                    "min_samples": v["min_samples"],
                    "rationale": text(v["rationale"]),
                    "review_by": iso(v["review_by"]),
                    "activated_at": iso(v["activated_at"]),
                    "signoff": signoff(ctx, requests.get(v["signoff_request_id"])),
                },
                "latest": (
                    {
                        "value": number(value),
                        "observed_at": iso(observed_at),
                        "version": names.get(target, ""),
                    }
                    if observed_at is not None and number(value) is not None
                    else None
                ),
                "evaluated_value": evaluated,
                "state": state,
                "series": _chart_series(by_day),
            }
        )
    entries.sort(
        key=lambda e: (e["metric"], e["segment"], e["version"] or "", e["threshold"]["id"])
    )
    return entries


def _latest_values(targets: dict[Any, Any], moment: dt.datetime) -> QuerySet | None:
    """Per threshold, the newest observation at or before T of its series (``latest_value``,
    ``latest_at``), as a queryset of the thresholds; None when none has a series. When T
    is at or after the series' last time (a current card) it is the series row's latest
    value; otherwise an index step back from T on the observations' primary key (version,
    metric, time), only for those series."""
    cases = [When(pk=pk, then=Value(vid)) for pk, vid in targets.items() if vid is not None]
    if not cases:
        return None
    series = ObservationSeries.objects.filter(
        version_id=OuterRef("target_version"),
        metric_id=OuterRef("metric_id"),
        segment=OuterRef("segment"),
    )
    newest = Observation.objects.filter(
        version_id=OuterRef("target_version"),
        metric_id=OuterRef("metric_id"),
        segment=OuterRef("segment"),
        timestamp__lte=moment,
    ).order_by("-timestamp")
    current = Q(series_last_at__lte=moment)
    return (
        Threshold.objects.filter(pk__in=sorted(targets))
        .annotate(
            target_version=Case(*cases, default=Value(None), output_field=models.BigIntegerField())
        )
        .annotate(
            series_last_at=Subquery(series.values("last_at")[:1]),
            series_last_value=Subquery(series.values("last_value")[:1]),
        )
        .annotate(
            latest_value=Case(
                When(current, then="series_last_value"),
                default=Subquery(newest.values("value")[:1]),
            ),
            latest_at=Case(
                When(current, then="series_last_at"),
                default=Subquery(newest.values("timestamp")[:1]),
            ),
        )
    )


SPARSE_DAY_COLUMNS = ("version_id", "metric_id", "segment", "bucket")
HOUR_DAY_COLUMNS = (
    "version_id",
    "metric_id",
    "segment",
    "day",
    "day_n",
    "day_total",
    "day_low",
    "day_high",
    "day_last",
)


def _series_q(keys: set[tuple]) -> Q:
    wanted = Q(pk__in=[])
    for version_id, metric_id, segment in sorted(keys):
        wanted |= Q(version_id=version_id, metric_id=metric_id, segment=segment)
    return wanted


def _sparse_days(keys: set[tuple], moment: dt.datetime, days: int) -> QuerySet:
    """The UTC days of the series within ``days`` days of T that keep no hourly rollups (at
    most one observation an hour): their raw rows are read."""
    t = moment.timestamp()
    day_lo = int((t - days * DAY) // DAY) * DAY
    return ObservationRollup.objects.filter(
        _series_q(keys), width=DAY, dense=False, bucket__gte=day_lo, bucket__lte=int(t)
    )


def _hour_days(keys: set[tuple], moment: dt.datetime, days: int) -> QuerySet:
    """Per series and day k before T, the hourly rollups of that day added up by the database
    (count, sum, lowest, highest, last time): a few rows a series, where a dense series keeps
    24 hourly rollups a day. Every hour within ``days`` days of T but the one each day of T
    starts in (the one hour a day of T shares with the next: read from the raw rows).

    In whole seconds: with s = floor(T), a bucket b (a whole hour) lies k = (s - b) div 86400
    days before T, and starts a day of T when (s - b) mod 86400 < 3600; T's fraction of a
    second never moves a bucket across either boundary, so the database's integer arithmetic
    decides exactly what Python's would on T itself."""
    t = moment.timestamp()
    s = int(t // 1)
    low_t = t - days * DAY
    since = Value(s, output_field=models.BigIntegerField()) - F("bucket")
    return (
        ObservationRollup.objects.filter(
            _series_q(keys),
            width=HOUR,
            bucket__gte=int(low_t // HOUR) * HOUR,
            bucket__lt=int(t // HOUR) * HOUR,
        )
        .annotate(phase=Mod(since, Value(DAY)))
        .filter(phase__gte=HOUR)
        .annotate(day=ExpressionWrapper(since / Value(DAY), output_field=models.BigIntegerField()))
        .values("version_id", "metric_id", "segment", "day")
        .annotate(
            day_n=Sum("count"),
            day_total=Sum("total"),
            day_low=Min("low"),
            day_high=Max("high"),
            day_last=Max("last_at"),
        )
        .order_by()
    )


def _day_buckets(
    keys: set[tuple], moment: dt.datetime, days: int, *, rows: dict[str, list] | None = None
) -> dict[tuple, dict[int, tuple]]:
    """Per series (version, metric, segment) and day k before T (k = floor((T - t) / 1 day)):
    count, sum, lowest, highest value and last time, over the ``days`` days up to T; a window
    of k days is the exact sum of days 0..k-1.

    Days aligned to T are not the rollups' UTC days, so each is put together exactly from what
    the loader keeps: the hours that lie within one day of T, from their hourly rollups added
    up per day by the database (``_hour_days``); the raw rows only for the hour each day of T
    starts in (the one hour a day of T shares with the next) and for the sparse UTC days that
    keep no hourly rollups (``_sparse_days``). ``rows``: the rows of ``hour_days`` and
    ``sparse_days`` when they were read already (three queries otherwise); then one query,
    index ranges per series, reading about a tenth of a dense series' rows."""
    if not keys:
        return {}
    keys = sorted(keys)
    t = moment.timestamp()
    if rows is None:
        rows = {
            "hour_days": list(_hour_days(set(keys), moment, days)),
            "sparse_days": list(_sparse_days(set(keys), moment, days).values(*SPARSE_DAY_COLUMNS)),
        }
    result: dict[tuple, dict[int, tuple]] = defaultdict(dict)
    for row in rows["hour_days"]:
        if 0 <= row["day"] < days:
            key = (row["version_id"], row["metric_id"], row["segment"])
            part = (row["day_n"], row["day_total"], row["day_low"], row["day_high"])
            _fold(result[key], row["day"], (*part, row["day_last"]))
    sparse: dict[tuple, list[int]] = defaultdict(list)
    for row in rows["sparse_days"]:
        sparse[(row["version_id"], row["metric_id"], row["segment"])].append(row["bucket"])
    # Raw rows: the hours T's days start in, for every series; and each series' sparse days.
    starts = sorted({int((t - j * DAY) // HOUR) * HOUR for j in range(days + 1)})
    spans = {key: [(a, a + HOUR) for a in starts] for key in keys}
    for key, buckets in sparse.items():
        spans[key] = _merged(spans[key] + _merged(buckets))
    low_at = moment - dt.timedelta(days=days)
    for row in _raw_buckets(spans, moment, low_at):
        day = int(row["day"])
        if 0 <= day < days:
            key = (row["version_id"], row["metric_id"], row["segment"])
            _fold(result[key], day, (row["n"], row["total"], row["low"], row["high"], row["last"]))
    return result


def _raw_buckets(spans: dict[tuple, list], moment: dt.datetime, low_at: dt.datetime):
    """The raw rows' day buckets over the spans: one index range scan per series and span
    (on PostgreSQL a join with the spans as arrays, planned in a millisecond whatever their
    number; elsewhere an OR of the same ranges)."""
    arms = [
        (v, m, seg, _at(a), _at(b))
        for (v, m, seg), ranges in sorted(spans.items())
        for a, b in ranges
    ]
    if not arms:
        return []
    # The database the router reads observations from (a replica when one is configured).
    connection = connections[Observation.objects.all().db]
    if connection.vendor == "postgresql":
        table = Observation._meta.db_table
        sql = (
            "SELECT o.version_id, o.metric_id, o.segment,"  # noqa: S608
            " FLOOR((%s - date_part('epoch', o.timestamp)) / 86400.0)::bigint AS day,"
            " COUNT(*) AS n, SUM(o.value) AS total, MIN(o.value) AS low, MAX(o.value) AS high,"
            " MAX(o.timestamp) AS last"
            " FROM unnest(%s::bigint[], %s::bigint[], %s::text[], %s::timestamptz[],"
            " %s::timestamptz[]) AS w(v, m, s, a, b)"
            f" JOIN {connection.ops.quote_name(table)} o ON o.version_id = w.v"
            " AND o.metric_id = w.m AND o.segment = w.s"
            " AND o.timestamp >= w.a AND o.timestamp < w.b"
            " WHERE o.timestamp > %s AND o.timestamp <= %s GROUP BY 1, 2, 3, 4"
        )
        columns = list(zip(*arms, strict=True))
        params = [moment.timestamp(), *(list(c) for c in columns), low_at, moment]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            names = (
                "version_id",
                "metric_id",
                "segment",
                "day",
                "n",
                "total",
                "low",
                "high",
                "last",
            )
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    # Elsewhere (SQLite): an OR of ranges, but the single hours every series shares (the
    # hours T's days start in) as one list of hours, so that the condition's depth grows with
    # the series and their longer spans, not with the days charted (SQLite refuses an
    # expression deeper than 1,000).
    hour_keys, hours, wanted = set(), set(), Q(pk__in=[])
    for key, ranges in sorted(spans.items()):
        for a, b in ranges:
            if b - a == HOUR and a % HOUR == 0:
                hour_keys.add(key)
                hours.add(a)
            else:
                v, m, seg = key
                wanted |= Q(
                    version_id=v,
                    metric_id=m,
                    segment=seg,
                    timestamp__gte=_at(a),
                    timestamp__lt=_at(b),
                )
    if hour_keys:
        wanted |= _series_q(hour_keys) & Q(hour__in=sorted(hours))
    return (
        Observation.objects.annotate(hour=_HourOf("timestamp"))
        .filter(wanted, timestamp__gt=low_at, timestamp__lte=moment)
        .annotate(day=_DaysBefore("timestamp", moment))
        .values("version_id", "metric_id", "segment", "day")
        .annotate(
            n=Count("*"),
            total=Sum("value"),
            low=Min("value"),
            high=Max("value"),
            last=Max("timestamp"),
        )
        .order_by()
    )


def _at(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, tz=dt.UTC)


def _merged(spans: list) -> list[tuple[int, int]]:
    """UTC days (their start, in seconds) or [start, end) spans as the fewest disjoint spans."""
    merged: list[list[int]] = []
    for span in sorted((s, s + rollups.DAY) if isinstance(s, int) else s for s in spans):
        if merged and span[0] <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], span[1])
        else:
            merged.append(list(span))
    return [(a, b) for a, b in merged]


def _fold(by_day: dict[int, tuple], day: int, part: tuple) -> None:
    """Add a part (count, sum, lowest, highest, last time) to a day's bucket."""
    if day not in by_day:
        by_day[day] = part
        return
    n, total, low, high, last = by_day[day]
    pn, ptotal, plow, phigh, plast = part
    by_day[day] = (n + pn, total + ptotal, min(low, plow), max(high, phigh), max(last, plast))


def _evaluate(
    threshold: dict[str, Any], *, value: float | None, by_day: dict[int, tuple]
) -> tuple[float | None, str]:
    """The evaluated value and state, as ``apps.monitoring.evaluation`` decides them, over
    the window ending at T."""
    evaluation = threshold["evaluation"]
    if evaluation in bounds.WINDOWED:
        window = [b for day, b in by_day.items() if day < (threshold["window_days"] or 0)]
        count = sum(b[0] for b in window)
        total = sum(b[1] for b in window)
        evaluated = outcome.evaluated_value(
            evaluation,
            mean=total / count if count else None,
            minimum=min((b[2] for b in window), default=None),
            maximum=max((b[3] for b in window), default=None),
            latest=value,
        )
    else:
        count = 1 if value is not None else 0
        evaluated = value
    evaluated = number(evaluated)
    state = outcome.state_of(
        evaluated,
        count=count,
        min_samples=outcome.required_samples(evaluation, threshold["min_samples"] or 1),
        direction=threshold["direction"],
        warning=threshold["warning_bound"],
        critical=threshold["critical_bound"],
    )
    return evaluated, "insufficient_data" if state == outcome.INSUFFICIENT else state


def drift(ctx: Context) -> dict[str, Any] | None:
    """The newest drift run that had succeeded by T, with its columns (drifted first)."""
    if not ctx.rows["drift_run"]:
        return None
    run = ctx.rows["drift_run"][0]
    return {
        "observed_at": iso(run["observed_at"]),
        "version": run["version__version"],
        "columns_total": run["columns_total"],
        "columns_drifted": run["columns_drifted"],
        "drift_share": number(run["drift_share"]),
        "dataset_drift": run["dataset_drift"],
        "columns": [
            {
                "column": c["column"],
                "kind": c["kind"],
                "method": c["method"],
                "score": number(c["score"]),
                "threshold": number(c["threshold"]),
                "drifted": c["drifted"],
                "psi": number(c["psi"]),
            }
            for c in ctx.rows["drift_columns"]
        ],
    }
