"""Drift runs: upload two samples of a version's data, compute per-column drift in a Celery
job, and record the results as observations so thresholds apply to them.

``drift_run_create`` checks the files (format, size, shared columns and their types) and
queues the run on commit; ``drift_run_execute`` (the task's body) computes and stores the
columns, the summary and the observations ``drift.psi.<column>``, ``drift.score.<column>``
and ``drift.share`` in one transaction, then evaluates the thresholds on them.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import os
from dataclasses import dataclass

import pandas as pd
from django.conf import settings
from django.core.files.base import ContentFile, File
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.audit.services import audit_record
from apps.core import clock
from apps.core.errors import ApplicationError
from apps.core.services import require_perm
from apps.inventory.choices import LifecycleStatus
from apps.inventory.models import ModelVersion
from apps.jobs.services import job_enqueue, job_restart
from apps.monitoring.choices import (
    DRIFT_TASK,
    BatchStage,
    BatchStatus,
    DriftRunStatus,
    IngestionSource,
    MetricDirection,
)
from apps.monitoring.drift import files, selectors, stats
from apps.monitoring.ingestion.services import release_memory, stored_files_sweep
from apps.monitoring.models import DriftColumn, DriftRun, IngestionBatch, MetricDefinition

SHARE_METRIC = "drift.share"
#: Threads testing columns at once (numpy sorts and pandas factorisation release the GIL).
WORKERS = min(2, os.cpu_count() or 1)

Upload = File | tuple[str, bytes]


@dataclass(frozen=True)
class _Upload:
    name: str
    file: File  # read in chunks, never whole


def _refuse(message: str, field: str | None = None) -> ApplicationError:
    return ApplicationError(message, field_errors={field: [message]} if field else None)


def _max_bytes() -> int:
    return settings.MLGOV_DRIFT_MAX_BYTES


def _limits() -> files.Limits:
    return files.Limits(
        decompressed_bytes=settings.MLGOV_DRIFT_MAX_DECOMPRESSED_BYTES,
        rows=settings.MLGOV_DRIFT_MAX_ROWS,
        columns=settings.MLGOV_DRIFT_MAX_COLUMNS,
    )


def _take(upload: Upload | None, field: str) -> _Upload:
    """The uploaded file's name and file object, refusing a missing or oversize one early."""
    if upload is None:
        raise _refuse("Choose a file.", field)
    if isinstance(upload, tuple):
        name, data = upload
        return _Upload(name=str(name), file=ContentFile(bytes(data)))
    size = getattr(upload, "size", None)
    if size is not None and size > _max_bytes():
        raise _refuse(
            f"The {field} file is {size / (1024 * 1024):.1f} MB; the limit is "
            f"{_max_bytes() // (1024 * 1024)} MB (MLGOV_DRIFT_MAX_BYTES).",
            field,
        )
    upload.seek(0)
    return _Upload(name=str(upload.name or field).rsplit("/", 1)[-1], file=upload)


def _check_samples(reference: _Upload, current: _Upload) -> tuple[files.Sample, files.Sample]:
    """Format, size, caps, shared columns, their types and metric names (on the first rows);
    the content streams through (gzip decompressed to a temporary file), never whole in
    memory."""
    samples, frames = {}, {}
    for field, upload in (("reference", reference), ("current", current)):
        try:
            samples[field], frames[field] = files.preview(
                upload.file, label=field, limits=_limits()
            )
        except files.SampleError as exc:
            raise _refuse(str(exc), field) from exc
    try:
        columns = files.testable_columns(frames["reference"], frames["current"])
        files.metric_parts(columns)
    except files.SampleError as exc:
        raise _refuse(str(exc)) from exc
    return samples["reference"], samples["current"]


def drift_files_sweep(*, older_than: datetime.timedelta) -> list[str]:
    """Delete stored drift samples no run refers to, older than ``older_than`` (left by a
    caller's transaction rolled back after they were stored, or a process killed in
    between); the names deleted."""
    return stored_files_sweep(
        root="drift",
        referenced=lambda path: DriftRun.objects.filter(
            Q(reference_file=path) | Q(current_file=path)
        ).exists(),
        older_than=older_than,
    )


def _stored_name(sample: files.Sample) -> str:
    suffix = ".parquet" if sample.file_format == "parquet" else ".csv"
    return sample.sha256 + suffix + (".gz" if sample.compressed else "")


def drift_run_create(
    *,
    user,
    version: ModelVersion,
    reference: Upload,
    current: Upload,
    observed_at: datetime.datetime | None = None,
) -> DriftRun:
    """Queue a drift run of ``version`` between two samples (CSV or Parquet, gzip allowed).

    Refuses, naming the file or column, unreadable or oversize files, samples over the caps
    on decompressed bytes, rows or columns, files without a shared column, a column holding
    numbers in one file and text in the other, and column names that give no metric name or
    the same one. The computation runs after commit. The samples are read as streams, never
    whole; if anything fails after they were stored, before the commit, they are removed.
    """
    stored: list[str] = []
    try:
        return _create(
            user=user,
            version=version,
            reference=reference,
            current=current,
            observed_at=observed_at,
            stored=stored,
        )
    except BaseException:
        storage = DriftRun._meta.get_field("reference_file").storage
        for name in stored:
            storage.delete(name)
        raise


@transaction.atomic
def _create(*, user, version, reference, current, observed_at, stored: list[str]) -> DriftRun:
    model = version.model
    require_perm(user, "monitoring.run_drift", model)
    if model.status == LifecycleStatus.RETIRED:
        raise _refuse(f"{model} is retired; it is no longer monitored.")
    observed_at = observed_at or clock.now()
    if timezone.is_naive(observed_at):
        raise _refuse("Give the observation time with its time zone.", "observed_at")
    if observed_at > clock.now() + datetime.timedelta(minutes=10):
        raise _refuse("The observation time is in the future.", "observed_at")
    if (
        DriftRun.objects.filter(version=version, observed_at=observed_at)
        .exclude(status=DriftRunStatus.FAILED)
        .exists()
    ):
        raise _refuse(
            "A drift run of this version is already recorded at that time; choose another.",
            "observed_at",
        )
    ref_upload, cur_upload = _take(reference, "reference"), _take(current, "current")
    ref_sample, cur_sample = _check_samples(ref_upload, cur_upload)
    run = DriftRun(
        version=version,
        reference_name=ref_upload.name[:255],
        reference_sha256=ref_sample.sha256,
        current_name=cur_upload.name[:255],
        current_sha256=cur_sample.sha256,
        observed_at=observed_at,
        status=DriftRunStatus.QUEUED,
        created_by=user,
    )
    # Streamed by the storage; removed again if anything fails before the commit.
    run.reference_file.save(_stored_name(ref_sample), ref_upload.file, save=False)
    stored.append(run.reference_file.name)
    run.current_file.save(_stored_name(cur_sample), cur_upload.file, save=False)
    stored.append(run.current_file.name)
    run.save()
    audit_record(
        actor=user,
        action=AuditEvent.Action.CREATE,
        obj=run,
        model_ref=model.pk,
        changes={
            "version": {"before": None, "after": version.version},
            "reference": {"before": None, "after": f"{run.reference_name} ({ref_sample.sha256})"},
            "current": {"before": None, "after": f"{run.current_name} ({cur_sample.sha256})"},
            "observed_at": {"before": None, "after": observed_at.isoformat()},
        },
    )
    job_enqueue(task=DRIFT_TASK, object_id=run.pk)  # the outbox: sent after commit
    return run


# --- execution -------------------------------------------------------------------------------


def _lock(run_id: int) -> DriftRun:
    return (
        DriftRun.objects.select_for_update(of=("self",))
        .select_related("version__model", "created_by")
        .get(pk=run_id)
    )


def _is_final(run: DriftRun) -> bool:
    return run.status in (DriftRunStatus.SUCCEEDED, DriftRunStatus.FAILED)


@transaction.atomic
def _start(run_id: int, task_id: str) -> DriftRun | None:
    run = _lock(run_id)
    if _is_final(run):
        return None
    run.status = DriftRunStatus.RUNNING
    run.started_at = run.started_at or clock.now()
    if task_id:
        run.task_id = task_id
    run.save(update_fields=["status", "started_at", "task_id"])
    return run


#: Cells (rows × columns) of each sample read per pass: the worker tests the columns a few at
#: a time, so its memory is bounded by this (and the row cap), not by the number of columns.
CELLS_PER_PASS = 2_000_000
#: Samples up to this many rows have two columns tested at once on threads; larger ones one at
#: a time (a column of 2,000,000 rows needs about 125 MB while it is tested).
PARALLEL_ROWS = 500_000


def _compute(run: DriftRun) -> tuple[stats.DatasetDrift, dict[str, str]]:
    """Test every shared column, reading a few columns of both samples at a time."""
    limits = _limits()
    with contextlib.ExitStack() as stack:
        handles = [
            stack.enter_context(f.open("rb")) for f in (run.reference_file, run.current_file)
        ]
        reference = stack.enter_context(
            files.SampleFile(handles[0], label="reference", limits=limits)
        )
        current = stack.enter_context(files.SampleFile(handles[1], label="current", limits=limits))
        names = files.common_columns(reference.names, current.names)
        rows = max(reference.rows, current.rows, 1)
        per_pass = max(1, CELLS_PER_PASS // rows)
        workers = WORKERS if rows <= PARALLEL_ROWS else 1
        results, skipped = [], []
        for start in range(0, len(names), per_pass):
            group = names[start : start + per_pass]
            ref_frame, cur_frame = reference.columns(group), current.columns(group)
            files.shared_columns(ref_frame, cur_frame)  # types agree
            part = stats.dataset_drift(ref_frame, cur_frame, group, workers=workers)
            results += part.columns
            skipped += part.skipped
            del ref_frame, cur_frame
            release_memory()  # before the next columns are read
    if not results:
        raise files.SampleError(
            "None of the shared columns holds numbers or categories that can be tested "
            "(dates and empty columns are skipped)."
        )
    result = stats.combine(results, skipped)
    return result, files.metric_parts([c.column for c in result.columns])


@transaction.atomic
def drift_run_retry(*, user, run: DriftRun) -> DriftRun:
    """Compute a failed or stalled run again from its stored samples (whoever started it, or
    an administrator)."""
    require_perm(user, "monitoring.retry_driftrun", run)
    run = _lock(run.pk)
    before = run.status
    if run.status == DriftRunStatus.FAILED:
        if (
            DriftRun.objects.filter(version=run.version, observed_at=run.observed_at)
            .exclude(pk=run.pk)
            .exclude(status=DriftRunStatus.FAILED)
            .exists()
        ):
            raise _refuse(
                "Another drift run of this version is recorded at the same time; "
                "nothing is computed twice."
            )
        run.status = DriftRunStatus.QUEUED
        run.error = ""
        run.started_at = run.finished_at = None
        run.save(update_fields=["status", "error", "started_at", "finished_at"])
    elif not selectors.drift_run_retryable(run):
        raise _refuse(
            f"Only a failed or stalled drift run can be run again; this one is "
            f"{run.get_status_display().lower()}."
        )
    audit_record(
        actor=user,
        action=AuditEvent.Action.TRANSITION,
        obj=run,
        model_ref=run.version.model_id,
        changes={"status": {"before": before, "after": run.status}},
        message="Run again by its owner.",
    )
    job_restart(task=DRIFT_TASK, object_id=run.pk)
    return run


@transaction.atomic
def drift_run_fail(*, run_id: int, message: str) -> DriftRun:
    """Mark a run that could not be computed as failed, with the reason (no-op once final)."""
    run = _lock(run_id)
    if _is_final(run):
        return run
    run.status = DriftRunStatus.FAILED
    run.error = message
    run.finished_at = clock.now()
    run.save(update_fields=["status", "error", "finished_at"])
    audit_record(
        actor=None,
        action=AuditEvent.Action.TRANSITION,
        obj=run,
        model_ref=run.version.model_id,
        changes={"status": {"before": DriftRunStatus.RUNNING, "after": run.status}},
        message=message,
    )
    return run


def _metrics(
    *, run: DriftRun, result: stats.DatasetDrift, parts: dict[str, str]
) -> dict[str, MetricDefinition]:
    """The metric definitions of this run's observations, created when missing."""
    wanted: dict[str, tuple[str, str]] = {
        SHARE_METRIC: (
            "Share of the columns of a drift run that drifted (Evidently's data-drift preset).",
            MetricDirection.LOWER_IS_BETTER,
        )
    }
    for col in result.columns:
        part = parts[col.column]
        wanted[f"drift.psi.{part}"] = (
            f"Population stability index of column {col.column!r} between the reference "
            "and the current sample of a drift run.",
            MetricDirection.LOWER_IS_BETTER,
        )
        p_value = col.method in stats.P_VALUE_METHODS
        wanted[f"drift.score.{part}"] = (
            f"Drift score of column {col.column!r}: "
            + (
                "a p-value (KS, chi-square or z-test); small values mean drift."
                if p_value
                else "a distance (Wasserstein normed, Jensen–Shannon); large values mean drift."
            ),
            MetricDirection.HIGHER_IS_BETTER if p_value else MetricDirection.LOWER_IS_BETTER,
        )
    existing = {m.name: m for m in MetricDefinition.objects.filter(name__in=list(wanted))}
    for name, (description, direction) in wanted.items():
        if name in existing:
            continue
        metric = MetricDefinition.objects.create(
            name=name, description=description, direction=direction, created_by=run.created_by
        )
        audit_record(
            actor=run.created_by,
            action=AuditEvent.Action.CREATE,
            obj=metric,
            changes={"name": {"before": None, "after": name}},
            message=f"Defined by drift run {run.pk}.",
        )
        existing[name] = metric
    return existing


def _observations(
    *, run: DriftRun, result: stats.DatasetDrift, parts: dict[str, str], metrics: dict
) -> pd.DataFrame:
    rows = [(SHARE_METRIC, result.share)]
    for col in result.columns:
        part = parts[col.column]
        rows += [(f"drift.psi.{part}", col.psi), (f"drift.score.{part}", col.score)]
    timestamp = pd.Timestamp(run.observed_at).tz_convert("UTC")
    return pd.DataFrame(
        {
            "version_id": pd.Series([run.version_id] * len(rows), dtype="int64"),
            "metric_id": pd.Series([metrics[name].pk for name, _ in rows], dtype="int64"),
            "segment": pd.Series([""] * len(rows), dtype="object"),
            "timestamp": pd.Series([timestamp] * len(rows)).astype("datetime64[ns, UTC]"),
            "value": pd.Series([float(v) for _, v in rows], dtype="float64"),
        }
    )


def _file_format(run: DriftRun) -> str:
    names = (run.reference_file.name, run.current_file.name)
    return "parquet" if all(".parquet" in n for n in names) else "csv"


@transaction.atomic
def _finish(run_id: int, result: stats.DatasetDrift, parts: dict[str, str]) -> DriftRun:
    from apps.monitoring.evaluation.services import evaluate_batch
    from apps.monitoring.ingestion.loader import load_observations

    run = _lock(run_id)
    if _is_final(run):
        return run
    now = clock.now()
    DriftColumn.objects.bulk_create(
        DriftColumn(
            run=run,
            column=col.column[:200],
            kind=col.kind,
            method=col.method,
            score=col.score,
            threshold=col.threshold,
            drifted=col.drifted,
            psi=col.psi,
        )
        for col in result.columns
    )
    metrics = _metrics(run=run, result=result, parts=parts)
    frame = _observations(run=run, result=result, parts=parts, metrics=metrics)
    digest = hashlib.sha256(
        f"{run.reference_sha256}:{run.current_sha256}:drift-run-{run.pk}".encode()
    ).hexdigest()
    batch = IngestionBatch.objects.create(
        source=IngestionSource.DRIFT,
        scope_model=run.version.model,
        file_name=f"Drift run {run.pk}",
        file_format=_file_format(run),
        sha256=digest,
        status=BatchStatus.SUCCEEDED,
        stage=BatchStage.DONE,
        progress=100,
        rows_total=len(frame),
        created_by=run.created_by,
        started_at=run.started_at or now,
        finished_at=now,
    )
    loaded = load_observations(batch=batch, frame=frame)
    batch.rows_loaded, batch.rows_duplicate = loaded.loaded, loaded.duplicate
    batch.save(update_fields=["rows_loaded", "rows_duplicate"])
    run.status = DriftRunStatus.SUCCEEDED
    run.reference_rows = max((c.reference_rows for c in result.columns), default=0)
    run.current_rows = max((c.current_rows for c in result.columns), default=0)
    run.columns_total = len(result.columns)
    run.columns_drifted = result.drifted_count
    run.drift_share = result.share
    run.dataset_drift = result.drifted
    run.batch = batch
    run.finished_at = now
    run.save()
    audit_record(
        actor=None,
        action=AuditEvent.Action.TRANSITION,
        obj=run,
        model_ref=run.version.model_id,
        changes={
            "status": {"before": DriftRunStatus.RUNNING, "after": run.status},
            "drift_share": {"before": None, "after": run.drift_share},
            "dataset_drift": {"before": None, "after": run.dataset_drift},
        },
        message=(
            f"{run.columns_drifted} of {run.columns_total} columns drifted; "
            f"{loaded.loaded} observations recorded in batch {batch.pk}."
        ),
    )
    evaluate_batch(batch=batch, series=loaded.series)
    return run


def drift_run_execute(*, run_id: int, task_id: str = "") -> DriftRun:
    """Compute and store a queued run. Idempotent: a finished run is left as it is, and a
    run executed twice at once stores its results once (the second sees it finished)."""
    run = _start(run_id, task_id)
    if run is None:
        return DriftRun.objects.get(pk=run_id)
    try:
        result, parts = _compute(run)
    except (files.SampleError, stats.DriftError) as exc:
        return drift_run_fail(run_id=run_id, message=str(exc))
    return _finish(run_id, result, parts)
