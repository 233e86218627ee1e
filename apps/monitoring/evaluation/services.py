"""Evaluation of active thresholds after an ingestion batch.

``evaluate_batch`` runs as the system (no actor) right after a batch is loaded, inside the
loader's transaction or its own. The rows are reduced in SQL (``sql``); Python then walks
the handful of (threshold, version) results:

- each result is upserted as the pair's ``ThresholdState`` (written only when it changed);
- entering warning or critical starts a ``Breach``; warning notifies the model's owner and
  business owner; critical sends ``signals.critical_breach_started``, on which the incidents
  app opens an incident for the threshold or joins its active one;
- an escalation (warning → critical) or easing ends the open breach and starts the new one;
- back to ok ends the open breach and sends ``signals.breach_recovered``, on which the
  incidents app notes the recovery on the threshold's active incident (which stays open:
  people close incidents).

Evaluating the same batch twice changes nothing the second time: the results are the same,
so no state, breach or timeline entry is written. Thresholds are locked while evaluated, so
two batches of the same series are evaluated one after the other.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

from django.db import transaction

from apps.audit import diff
from apps.audit.models import AuditEvent
from apps.audit.services import audit_record
from apps.core import clock
from apps.inventory.models import ModelVersion
from apps.monitoring import bounds, signals
from apps.monitoring.choices import ThresholdStatus
from apps.monitoring.evaluation import outcome, sql
from apps.monitoring.models import Breach, IngestionBatch, Threshold, ThresholdState
from apps.notifications.choices import Event
from apps.notifications.services import notify

BREACH_AUDITED_FIELDS = (
    "threshold",
    "version",
    "state",
    "value",
    "warning_bound",
    "critical_bound",
    "observed_at",
    "detected_at",
    "ended_at",
    "batch",
    "incident",
)


@dataclass(frozen=True)
class Result:
    """One evaluated (threshold, version) pair."""

    pair: sql.Pair
    state: str
    value: float | None
    count: int
    window_start: object
    window_end: object


@dataclass
class Summary:
    """What an evaluation did, for the batch's log and tests."""

    evaluated: int = 0
    changed: int = 0
    breaches_started: int = 0
    breaches_ended: int = 0
    incidents: int = 0


class Rule(NamedTuple):
    """What evaluating a threshold needs (read with its lock; no model instances)."""

    pk: int
    evaluation: str
    window_days: int | None
    min_samples: int
    direction: str
    warning_bound: float
    critical_bound: float


class StateRow(NamedTuple):
    pk: int
    threshold_id: int
    version_id: int
    state: str
    value: float | None
    sample_count: int
    window_start: object
    window_end: object
    since: object


def _results(pairs: list[sql.Pair], thresholds: dict[int, Rule]) -> list[Result]:
    windows = []
    for pair in pairs:
        t = thresholds[pair.threshold_id]
        start = outcome.window_start(
            evaluation=t.evaluation, window_days=t.window_days, newest=pair.newest
        )
        windows.append(
            sql.Window(
                pair.threshold_id,
                pair.version_id,
                pair.metric_id,
                pair.segment,
                start or pair.newest,  # the latest value: the newest observation alone
                pair.newest,
            )
        )
    aggregates = {(a.threshold_id, a.version_id): a for a in sql.aggregate_windows(windows)}
    results = []
    for pair, window in zip(pairs, windows, strict=True):
        t = thresholds[pair.threshold_id]
        agg = aggregates.get((pair.threshold_id, pair.version_id))
        count = agg.count if agg else 0
        value = (
            outcome.evaluated_value(
                t.evaluation,
                mean=agg.mean,
                minimum=agg.minimum,
                maximum=agg.maximum,
                latest=agg.latest,
            )
            if agg
            else None
        )
        state = outcome.state_of(
            value,
            count=count,
            min_samples=outcome.required_samples(t.evaluation, t.min_samples),
            direction=t.direction,
            warning=t.warning_bound,
            critical=t.critical_bound,
        )
        start = window.start if t.evaluation in bounds.WINDOWED else None
        results.append(Result(pair, state, value, count, start, window.end))
    return results


def _same(state: StateRow, result: Result) -> bool:
    def close(a, b) -> bool:
        if a is None or b is None:
            return a is b
        return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-15)

    return (
        state.state == result.state
        and close(state.value, result.value)
        and state.sample_count == result.count
        and state.window_start == result.window_start
        and state.window_end == result.window_end
    )


def _audit_breach(breach: Breach, *, action: str, changes: dict, message: str) -> None:
    audit_record(
        actor=None,
        action=action,
        obj=breach,
        model_ref=breach.threshold.model_id,
        changes=changes,
        message=message,
    )


def _end_breach(breach: Breach, *, now, batch: IngestionBatch, why: str) -> None:
    breach.ended_at = now
    breach.save(update_fields=["ended_at"])
    _audit_breach(
        breach,
        action=AuditEvent.Action.UPDATE,
        changes={"ended_at": {"before": None, "after": now}},
        message=f"{why} (batch {batch.pk}).",
    )


def _start_breach(
    threshold: Threshold, result: Result, *, now, batch: IngestionBatch, version
) -> Breach:
    breach = Breach.objects.create(
        threshold=threshold,
        version=version,
        state=result.state,
        value=result.value,
        warning_bound=threshold.warning_bound,
        critical_bound=threshold.critical_bound,
        observed_at=result.window_end,
        detected_at=now,
        batch=batch,
    )
    return breach


def _notify_warning(threshold: Threshold, breach: Breach) -> None:
    model = threshold.model
    notify(
        recipients=[model.owner, model.business_owner],
        event=Event.THRESHOLD_WARNING,
        subject_text=(
            f"{threshold.metric.name} of {model.name} {breach.version.version} is in warning: "
            f"{breach.value:g} (warning {threshold.warning_bound:g}, "
            f"critical {threshold.critical_bound:g})"
        ),
        link=threshold.get_absolute_url(),
        payload={
            "model": model.slug,
            "version": breach.version.version,
            "metric": threshold.metric.name,
            "segment": threshold.segment,
            "threshold": threshold.pk,
            "value": breach.value,
            "breach": breach.pk,
        },
    )


def _apply_plan(
    plan: outcome.Plan,
    *,
    threshold: Threshold,
    result: Result,
    open_breach: Breach | None,
    version,
    now,
    batch: IngestionBatch,
    summary: Summary,
) -> None:
    if plan.end_open and open_breach is not None:
        why = "Recovered" if plan.recovered else f"Now {result.state}"
        _end_breach(open_breach, now=now, batch=batch, why=why)
        summary.breaches_ended += 1
        if plan.recovered:
            signals.breach_recovered.send(sender=Breach, breach=open_breach)
    if plan.start is None:
        return
    breach = _start_breach(threshold, result, now=now, batch=batch, version=version)
    summary.breaches_started += 1
    if plan.start == bounds.CRITICAL:
        signals.critical_breach_started.send(sender=Breach, breach=breach)
        summary.incidents += 1
    _audit_breach(
        breach,
        action=AuditEvent.Action.CREATE,
        changes=diff.created(diff.snapshot(breach, BREACH_AUDITED_FIELDS)),
        message=f"{threshold} is {result.state} for {version.version}: {result.value:g} "
        f"(batch {batch.pk}).",
    )
    if plan.start == bounds.WARNING:
        _notify_warning(threshold, breach)


@transaction.atomic
def evaluate_batch(
    *, batch: IngestionBatch, series: Iterable[tuple[int, int, str]] | None = None
) -> Summary:
    """Evaluate the active thresholds of every (model, metric, segment) the batch touched.

    ``series`` (optional): the distinct (version id, metric id, segment) triples of the
    batch, when the caller has them at hand; otherwise they are read from its rows.
    Idempotent: evaluating the same batch twice changes nothing the second time.
    """
    summary = Summary()
    pairs = sql.affected_pairs(batch.pk, None if series is None else list(series))
    if not pairs:
        return summary
    # Rows, not model instances: a batch may touch thousands of thresholds, and only the
    # few that change state need more than their bounds.
    thresholds = {
        row[0]: Rule(*row)
        for row in Threshold.objects.select_for_update(of=("self",))
        .filter(pk__in={p.threshold_id for p in pairs}, status=ThresholdStatus.ACTIVE)
        .order_by("pk")
        .values_list(*Rule._fields)
    }
    pairs = [p for p in pairs if p.threshold_id in thresholds]  # ended meanwhile
    results = _results(pairs, thresholds)
    version_ids = {p.version_id for p in pairs}
    states = {
        (row[1], row[2]): StateRow(*row)
        for row in ThresholdState.objects.filter(
            threshold_id__in=thresholds, version_id__in=version_ids
        ).values_list(*StateRow._fields)
    }
    open_breaches = dict(
        ((t, v), (pk, state))
        for pk, t, v, state in Breach.objects.filter(
            threshold_id__in=thresholds, version_id__in=version_ids, ended_at__isnull=True
        ).values_list("pk", "threshold_id", "version_id", "state")
    )
    now = clock.now()
    created, updated = [], []
    for result in results:
        key = (result.pair.threshold_id, result.pair.version_id)
        summary.evaluated += 1
        row = states.get(key)
        if row is not None and _same(row, result):
            continue
        summary.changed += 1
        state = ThresholdState(
            pk=row.pk if row else None,
            threshold_id=key[0],
            version_id=key[1],
            state=result.state,
            value=result.value,
            sample_count=result.count,
            window_start=result.window_start,
            window_end=result.window_end,
            since=row.since if row and row.state == result.state else now,
            evaluated_at=now,
            batch=batch,
        )
        (updated if row else created).append(state)
        open_id, open_state = open_breaches.get(key, (None, None))
        plan = outcome.plan(open_state=open_state, new_state=result.state)
        if plan.end_open or plan.start:
            _apply_plan(
                plan,
                threshold=Threshold.objects.select_related("model", "metric").get(pk=key[0]),
                result=result,
                open_breach=(
                    Breach.objects.select_related("threshold__metric", "version").get(pk=open_id)
                    if open_id
                    else None
                ),
                version=ModelVersion.objects.get(pk=key[1]),
                now=now,
                batch=batch,
                summary=summary,
            )
    ThresholdState.objects.bulk_create(created, batch_size=500)
    ThresholdState.objects.bulk_update(
        updated,
        [
            "state",
            "value",
            "sample_count",
            "window_start",
            "window_end",
            "since",
            "evaluated_at",
            "batch",
        ],
        batch_size=500,
    )
    return summary
