"""Monitoring at T: each active threshold with its newest value, the value its rule evaluates
over the window ending at T, its state and a daily chart series; and the latest drift run (the
snapshot's ``metrics`` and ``drift``)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from django.db import NotSupportedError, models
from django.db.models import (
    Case,
    Count,
    Func,
    Max,
    Min,
    OuterRef,
    Prefetch,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)

from apps.monitoring import bounds
from apps.monitoring.choices import DriftRunStatus, Evaluation, ThresholdStatus
from apps.monitoring.evaluation import outcome
from apps.monitoring.models import DriftColumn, DriftRun, MetricDefinition, Observation, Threshold
from apps.reports.snapshot.approvals import signoff
from apps.reports.snapshot.context import Context
from apps.reports.snapshot.inventory import Version
from apps.reports.snapshot.values import iso, label, number, text

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


def metrics(
    ctx: Context, versions: list[Version], production: Version | None, requests: dict
) -> list[dict[str, Any]]:
    """One entry per threshold active at T, with the newest value at or before T, the value
    its rule evaluates over the window ending at T, the state, and a daily chart series."""
    records = ctx.records(
        Threshold.objects.filter(
            model=ctx.model, activated_at__isnull=False, activated_at__lte=ctx.moment
        ),
        THRESHOLD_FIELDS,
        restore_deleted=False,
    )
    active = [r for r in records if r.values["status"] == ThresholdStatus.ACTIVE]
    if not active:
        return []
    names = {v.pk: v.entry["version"] for v in versions}
    # A threshold without a version watches the production version at T (else the newest).
    fallback = production.pk if production else (versions[0].pk if versions else None)
    targets = {r.pk: r.values["version_id"] or fallback for r in active}
    definitions = {
        m.pk: m
        for m in MetricDefinition.objects.filter(
            pk__in=sorted({r.values["metric_id"] for r in active})
        )
    }
    latest = _latest_values(targets, ctx.moment)
    days = max(SERIES_DAYS, *(r.values["window_days"] or 0 for r in active))
    series_keys = {
        (targets[r.pk], r.values["metric_id"], r.values["segment"] or "")
        for r in active
        if targets[r.pk] is not None
    }
    buckets = _day_buckets(series_keys, ctx.moment, days)
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
                "metric": metric.name if metric else "",
                "description": text(metric.description) if metric else "",
                "unit": text(metric.unit) if metric else "",
                "direction": metric.direction if metric else "",
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
                "series": [
                    [iso(last), number(total / n)]
                    for day, (n, total, _low, _high, last) in sorted(by_day.items(), reverse=True)
                    if day < SERIES_DAYS and n
                ],
            }
        )
    entries.sort(
        key=lambda e: (e["metric"], e["segment"], e["version"] or "", e["threshold"]["id"])
    )
    return entries


def _latest_values(targets: dict[Any, Any], moment: dt.datetime) -> dict[Any, tuple]:
    """Per threshold, the newest observation at or before T of its series: one query, an
    index lookup per threshold (the observation index leads with version, metric, time)."""
    cases = [When(pk=pk, then=Value(vid)) for pk, vid in targets.items() if vid is not None]
    if not cases:
        return {}
    newest = Observation.objects.filter(
        version_id=OuterRef("target_version"),
        metric_id=OuterRef("metric_id"),
        segment=OuterRef("segment"),
        timestamp__lte=moment,
    ).order_by("-timestamp")
    rows = (
        Threshold.objects.filter(pk__in=sorted(targets))
        .annotate(
            target_version=Case(*cases, default=Value(None), output_field=models.BigIntegerField())
        )
        .annotate(
            latest_value=Subquery(newest.values("value")[:1]),
            latest_at=Subquery(newest.values("timestamp")[:1]),
        )
        .values_list("pk", "latest_value", "latest_at")
    )
    return {pk: (value, at) for pk, value, at in rows if at is not None}


def _day_buckets(keys: set[tuple], moment: dt.datetime, days: int) -> dict[tuple, dict[int, tuple]]:
    """Per series (version, metric, segment) and day k before T (k = floor((T - t) / 1 day)):
    count, sum, lowest, highest value and last time, over the ``days`` days up to T. One
    aggregated query; a window of k days is the exact sum of days 0..k-1."""
    if not keys:
        return {}
    wanted = Q()
    for version_id, metric_id, segment in sorted(keys):
        wanted |= Q(version_id=version_id, metric_id=metric_id, segment=segment)
    rows = (
        Observation.objects.filter(
            wanted,
            timestamp__gt=moment - dt.timedelta(days=days),
            timestamp__lte=moment,
        )
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
    result: dict[tuple, dict[int, tuple]] = defaultdict(dict)
    for row in rows:
        day = int(row["day"])
        if 0 <= day < days:
            key = (row["version_id"], row["metric_id"], row["segment"])
            result[key][day] = (row["n"], row["total"], row["low"], row["high"], row["last"])
    return result


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
    finished = Q(finished_at__lte=ctx.moment) | Q(
        finished_at__isnull=True, created_at__lte=ctx.moment
    )
    run = (
        DriftRun.objects.filter(finished, version__model=ctx.model, status=DriftRunStatus.SUCCEEDED)
        .select_related("version")
        .prefetch_related(
            Prefetch("columns", queryset=DriftColumn.objects.order_by("-drifted", "column"))
        )
        .order_by("-observed_at", "-pk")
        .first()
    )
    if run is None:
        return None
    return {
        "observed_at": iso(run.observed_at),
        "version": run.version.version,
        "columns_total": run.columns_total,
        "columns_drifted": run.columns_drifted,
        "drift_share": number(run.drift_share),
        "dataset_drift": run.dataset_drift,
        "columns": [
            {
                "column": c.column,
                "kind": c.kind,
                "method": c.method,
                "score": number(c.score),
                "threshold": number(c.threshold),
                "drifted": c.drifted,
                "psi": number(c.psi),
            }
            for c in run.columns.all()
        ],
    }
