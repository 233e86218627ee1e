"""Observations of the scale inventory, loaded through the project's own bulk path.

Each batch is an ``IngestionBatch`` as the ingestion task leaves one (a file of the model's
metrics, loaded, succeeded, with its row counts and the two audit events the task writes:
created, then succeeded), and its rows go through ``load_observations`` (binary ``COPY`` on
PostgreSQL), the one way rows reach the store. One heavy tier-1 model holds a million or more
observations; the rest are spread over a few hundred models in production, over the last two
years; a dozen batches are unscoped (no model), as uploads with rows of several models are.

Threshold evaluation runs afterwards through ``evaluate_batch`` (the real service) for every
batch of the heavy model, in time order (so its breaches start and recover), and for the
latest batch of every other monitored model.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from apps.audit import diff
from apps.audit.models import AuditEvent
from apps.demo.scale import words
from apps.demo.scale.context import Scale, set_stamps
from apps.demo.scale.inventory import Plan
from apps.inventory.choices import LifecycleStatus, VersionStage
from apps.monitoring.choices import (
    BatchStage,
    BatchStatus,
    FileFormat,
    IngestionSource,
    ThresholdStatus,
)
from apps.monitoring.ingestion.loader import load_observations
from apps.monitoring.ingestion.services import BATCH_AUDITED_FIELDS
from apps.monitoring.models import IngestionBatch

A = AuditEvent.Action
SPECS = {m[0]: m for m in words.METRICS}
#: Rows per batch of the heavy model, and of the others at most.
HEAVY_BATCH_ROWS = 50_000
BATCH_ROWS = 25_000
#: The unscoped batches' rows carry their own segment, so they never repeat a scoped row.
UNSCOPED_SEGMENT = "feed=partner"


@dataclass
class Slice:
    batch: IngestionBatch
    frame: pd.DataFrame
    plan: Plan | None
    at: datetime


def _series_values(rng: np.random.Generator, name: str, n: int, *, breach: bool) -> np.ndarray:
    """A metric's values over time: its typical level, noise, a slow wander and, for the
    heavy model, episodes past the bounds (and the latest values past the critical one)."""
    _, _, direction, typical, noise, warning, critical = SPECS[name]
    values = typical + rng.normal(0, noise / 3, n)
    values += np.cumsum(rng.normal(0, noise / 200, n))
    if breach and n > 100:
        worse = 1 if direction == "lower_is_better" else -1
        for _ in range(3):  # episodes that recover
            start = int(rng.integers(0, n - n // 20))
            length = max(1, n // 200)
            values[start : start + length] = warning + worse * abs(critical - warning) * 0.5
        tail = max(1, n // 500)
        values[-tail:] = critical + worse * abs(noise)
    return np.round(values, 5)


class ObservationBuilder:
    def __init__(self, scale: Scale):
        self.scale = scale
        self.rng = np.random.default_rng(scale.options.seed)
        self.pyrng = scale.rng("monitoring")
        self.slices: list[Slice] = []

    def _versions(self, plan: Plan):
        live = [v for v in plan.versions if v.stage == VersionStage.PRODUCTION]
        return live or plan.versions[-1:]

    def _metrics(self, plan: Plan) -> list:
        active = {
            t.metric.name
            for t in self.scale.thresholds
            if t.model_id == plan.model.pk and t.status == ThresholdStatus.ACTIVE
        }
        names = [n for n in plan.metrics if n in active] + [
            n for n in plan.metrics if n not in active
        ]
        return names[:5]

    def plan(self) -> None:
        scale, opts = self.scale, self.scale.options
        heavy = next(p for p in scale.plans if p.heavy)
        others = [
            p for p in scale.plans if p.model.status == LifecycleStatus.PRODUCTION and not p.heavy
        ]
        self.pyrng.shuffle(others)
        monitored = others[: max(1, min(opts.monitored_models, len(scale.plans) // 33))]
        total = opts.observations
        heavy_rows = min(opts.heavy_observations, total)
        unscoped_each = max(10, min(2000, total // 5000)) if total > heavy_rows else 0
        unscoped = min(opts.unscoped_batches, (total - heavy_rows) // max(1, unscoped_each))
        rest = total - heavy_rows - unscoped * unscoped_each
        self._model_slices(heavy, heavy_rows, heavy=True)
        weights = self.rng.uniform(0.5, 1.5, len(monitored))
        shares = np.floor(weights / weights.sum() * rest).astype(int)
        shares[: rest - int(shares.sum())] += 1
        for plan, rows in zip(monitored, shares.tolist(), strict=True):
            self._model_slices(plan, rows, heavy=False)
        for i in range(unscoped):
            self._unscoped_slice(monitored or [heavy], i, unscoped_each)
        self.monitored = monitored
        self.heavy = heavy

    def _model_slices(self, plan: Plan, rows: int, *, heavy: bool) -> None:
        if rows <= 0:
            return
        scale = self.scale
        versions = self._versions(plan)
        metrics = self._metrics(plan)
        segments = (
            ["", "region=eu"]
            if heavy
            else ([""] if self.pyrng.random() < 0.7 else ["", "region=uk"])
        )
        series = [(v, m, s) for v in versions for m in metrics for s in segments]
        per_series = max(1, rows // len(series))
        extra = rows - per_series * len(series)
        start = max(scale.start, plan.model.deployed_at or plan.created)
        end = scale.now - timedelta(hours=2)
        span_us = int((end - start).total_seconds() * 1e6)
        start_us = int(start.timestamp() * 1e6)
        columns = {"version_id": [], "metric_id": [], "segment": [], "timestamp": [], "value": []}
        for k, (version, name, segment) in enumerate(series):
            n = per_series + (1 if k < extra else 0)
            step = span_us // max(1, n)
            micros = start_us + (np.arange(n, dtype=np.int64) * step) + step // 2
            micros = (micros // 1_000_000) * 1_000_000  # whole seconds, as files carry them
            columns["version_id"].append(np.full(n, version.pk, dtype=np.int64))
            columns["metric_id"].append(np.full(n, scale.metrics[name].pk, dtype=np.int64))
            columns["segment"].append(np.full(n, segment, dtype=object))
            columns["timestamp"].append(micros)
            columns["value"].append(
                _series_values(self.rng, name, n, breach=heavy and segment == "")
            )
        data = {key: np.concatenate(parts) for key, parts in columns.items()}
        order = np.argsort(data["timestamp"], kind="stable")
        data = {key: value[order] for key, value in data.items()}
        # About three batches per model (a quarter's uploads each), the heavy model's in 50k.
        per_batch = HEAVY_BATCH_ROWS if heavy else min(BATCH_ROWS, max(500, -(-rows // 3)))
        for i, lo in enumerate(range(0, len(order), per_batch)):
            part = {key: value[lo : lo + per_batch] for key, value in data.items()}
            self._slice(plan, part, i)

    def _slice(self, plan: Plan | None, part: dict, i: int) -> None:
        frame = pd.DataFrame(
            {
                "version_id": part["version_id"],
                "metric_id": part["metric_id"],
                "segment": part["segment"],
                "timestamp": pd.to_datetime(part["timestamp"], unit="us", utc=True),
                "value": part["value"],
            }
        )
        last = frame["timestamp"].iloc[-1].to_pydatetime()
        at = min(
            last + timedelta(minutes=self.pyrng.randint(5, 90)), self.scale.now - timedelta(hours=1)
        )
        slug = plan.model.slug if plan else "partner-feed"
        name = f"{slug}-{last:%Y%m%d}-{i:03d}.csv"
        source = self.pyrng.choice(
            (
                IngestionSource.API,
                IngestionSource.API,
                IngestionSource.UPLOAD,
                IngestionSource.SCHEDULE,
            )
        )
        owner = plan.model.owner_id if plan else self.scale.people["model_owner"]
        batch = IngestionBatch(
            source=source,
            scope_model=plan.model if plan else None,
            file_name=name if source == IngestionSource.UPLOAD else "",
            file_format=FileFormat.CSV,
            sha256=hashlib.sha256(f"{self.scale.options.seed}:{name}".encode()).hexdigest(),
            size_bytes=len(frame) * 52,
            status=BatchStatus.SUCCEEDED,
            stage=BatchStage.DONE,
            progress=100,
            rows_total=len(frame),
            rows_loaded=len(frame),
            created_by_id=owner,
            started_at=at + timedelta(seconds=2),
            finished_at=at + timedelta(seconds=2 + max(1, len(frame) // 40_000)),
        )
        batch._created = at.replace(microsecond=0)
        self.slices.append(Slice(batch=batch, frame=frame, plan=plan, at=at))

    def _unscoped_slice(self, plans: list[Plan], i: int, rows: int) -> None:
        scale = self.scale
        chosen = self.pyrng.sample(plans, k=min(len(plans), self.pyrng.randint(2, 5)))
        end = scale.now - timedelta(days=self.pyrng.randint(1, 300))
        parts = {"version_id": [], "metric_id": [], "segment": [], "timestamp": [], "value": []}
        for k, plan in enumerate(chosen):
            per = rows // len(chosen) + (1 if k < rows % len(chosen) else 0)
            version = self._versions(plan)[0]
            name = self._metrics(plan)[0]
            micros = (
                int(end.timestamp()) * 1_000_000
                - np.arange(per, dtype=np.int64)[::-1] * 3_600_000_000
            )
            parts["version_id"].append(np.full(per, version.pk, dtype=np.int64))
            parts["metric_id"].append(np.full(per, scale.metrics[name].pk, dtype=np.int64))
            parts["segment"].append(np.full(per, UNSCOPED_SEGMENT, dtype=object))
            parts["timestamp"].append(micros)
            parts["value"].append(_series_values(self.rng, name, per, breach=False))
        self._slice(None, {k: np.concatenate(v) for k, v in parts.items()}, i)

    def write(self) -> None:
        """Create the batches, load their rows and record what the ingestion task records."""
        scale = self.scale
        self.slices.sort(key=lambda s: s.batch._created)
        batches = [s.batch for s in self.slices]
        IngestionBatch.objects.bulk_create(batches, batch_size=1000)
        set_stamps(IngestionBatch, [(b.pk, {"created_at": b._created}) for b in batches])
        loaded_total = 0
        for n, piece in enumerate(self.slices, start=1):
            result = load_observations(batch=piece.batch, frame=piece.frame)
            piece.series = result.series
            loaded_total += result.loaded
            piece.batch.rows_loaded = result.loaded
            piece.batch.rows_duplicate = result.duplicate
            piece.frame = None  # free it
            if n % 200 == 0:
                scale.report(f"    {n}/{len(self.slices)} batches, {loaded_total:,} observations")
        IngestionBatch.objects.bulk_update(
            batches, ["rows_loaded", "rows_duplicate"], batch_size=1000
        )
        for b in batches:
            created = diff.snapshot(b, BATCH_AUDITED_FIELDS)
            created["status"] = BatchStatus.QUEUED
            model_ref = b.scope_model_id
            scale.event(
                b._created,
                b.created_by_id,
                A.CREATE,
                "monitoring.ingestionbatch",
                b.pk,
                str(b),
                model_ref=model_ref,
                changes=diff.created(created),
            )
            summary = (
                f"{b.rows_loaded} loaded, {b.rows_duplicate} already recorded, "
                f"{b.rows_rejected} rejected of {b.rows_total} rows."
            )
            scale.event(
                b.finished_at.replace(microsecond=0),
                None,
                A.TRANSITION,
                "monitoring.ingestionbatch",
                b.pk,
                str(b),
                model_ref=model_ref,
                changes={"status": {"before": BatchStatus.QUEUED, "after": BatchStatus.SUCCEEDED}},
                message=summary,
            )
        scale.loaded = loaded_total

    def evaluation_order(self) -> list:
        """The heavy model's batches in time order, then each other model's latest batch."""
        heavy = [s for s in self.slices if s.plan is self.heavy]
        latest = {}
        for s in self.slices:
            if s.plan is not None and s.plan is not self.heavy:
                latest[s.plan.model.pk] = s
        return heavy + sorted(latest.values(), key=lambda s: s.batch._created)
