"""Every write of metric ingestion: batches, scheduled-pull sources and the pull allow-list.

A batch is created (``ingestion_batch_create``: size check, SHA-256, dedupe, file stored,
audited, task enqueued on commit) and then run by a Celery task (``ingestion_batch_run``):
parse and validate outside any transaction, reporting the stage in short transactions so the
browser can show progress, then ONE transaction that loads the rows and sets the final
status, so a crash before that commit leaves nothing and a redelivered task starts again.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
import uuid
from urllib.parse import urlsplit

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, InterfaceError, OperationalError, transaction
from django.utils import timezone

from apps.audit import diff
from apps.audit.services import audit_record
from apps.core import egress
from apps.core.errors import ApplicationError
from apps.core.services import require_perm, validate_instance
from apps.inventory.models import ModelVersion, RegisteredModel
from apps.jobs.services import job_enqueue
from apps.monitoring.choices import BatchStage, BatchStatus, IngestionSource
from apps.monitoring.ingestion import parse, validate
from apps.monitoring.ingestion.loader import load_observations
from apps.monitoring.ingestion.selectors import PUSH
from apps.monitoring.models import AllowedPullHost, IngestionBatch, MetricDefinition, MetricSource

logger = logging.getLogger(__name__)

BATCH_AUDITED_FIELDS = (
    "source",
    "scope_model",
    "metric_source",
    "file_name",
    "file_format",
    "compressed",
    "sha256",
    "size_bytes",
    "accept_partial",
    "status",
)
LIVE = (BatchStatus.QUEUED, BatchStatus.RUNNING, BatchStatus.SUCCEEDED, BatchStatus.PARTIAL)
#: TEST ONLY: seconds to sleep at each stage of a run (and just before the load commits),
#: so a test can kill a worker in the middle of a batch. Never set it in production.
TEST_DELAY_ENV = "MLGOV_TEST_INGEST_STAGE_DELAY"


def _megabytes(n: int) -> str:
    return f"{n / (1024 * 1024):.0f} MB"


# --- creating a batch -------------------------------------------------------------------------


def _live_batch(sha256: str, scope_model: RegisteredModel | None) -> IngestionBatch | None:
    return (
        IngestionBatch.objects.filter(sha256=sha256, scope_model=scope_model, status__in=LIVE)
        .order_by("pk")
        .first()
    )


INGEST_TASK = "monitoring.ingest_batch"


def _enqueue(batch: IngestionBatch) -> None:
    """Commit the job with the batch (the outbox); it is sent after commit."""
    job_enqueue(task=INGEST_TASK, object_id=batch.pk)


@transaction.atomic
def ingestion_batch_create(
    *,
    user,
    source: str,
    data: bytes,
    file_name: str,
    scope_model: RegisteredModel | None = None,
    accept_partial: bool = False,
    metric_source: MetricSource | None = None,
) -> tuple[IngestionBatch, bool]:
    """Record a file of observations and queue it for loading.

    Returns ``(batch, created)``. The same content for the same scope as a queued, running or
    loaded batch returns that batch with ``created=False`` and loads nothing. A file over
    ``MLGOV_INGEST_MAX_BYTES`` is recorded as a failed batch without being stored.
    """
    require_perm(user, PUSH, scope_model)
    if source not in IngestionSource.values:
        raise ApplicationError(f"Unknown ingestion source {source!r}.")
    sha256 = hashlib.sha256(data).hexdigest()
    max_bytes = settings.MLGOV_INGEST_MAX_BYTES
    file_name = os.path.basename(file_name or "")[:255] or "metrics"
    file_format, compressed = parse.sniff(data, file_name)
    batch = IngestionBatch(
        source=source,
        scope_model=scope_model,
        metric_source=metric_source,
        file_name=file_name,
        file_format=file_format,
        compressed=compressed,
        sha256=sha256,
        size_bytes=len(data),
        accept_partial=accept_partial,
        created_by=user,
        task_id=uuid.uuid4().hex,
    )
    if len(data) > max_bytes:
        batch.status = BatchStatus.FAILED
        batch.stage = BatchStage.DONE
        batch.error = (
            f"The file is larger than the limit of {_megabytes(max_bytes)} "
            "(MLGOV_INGEST_MAX_BYTES); nothing was loaded. Split it into smaller files."
        )
        batch.finished_at = timezone.now()
        batch.save()
        _audit_created(user, batch)
        return batch, True

    existing = _live_batch(sha256, scope_model)
    if existing is not None:
        return existing, False
    batch.file.save(file_name, ContentFile(data), save=False)
    try:
        with transaction.atomic():
            batch.save()
    except IntegrityError:
        # Another request stored the same content for the same scope a moment ago.
        existing = _live_batch(sha256, scope_model)
        if existing is None:
            raise
        return existing, False
    _audit_created(user, batch)
    _enqueue(batch)
    return batch, True


def _audit_created(user, batch: IngestionBatch) -> None:
    audit_record(
        actor=user,
        action="create",
        obj=batch,
        model_ref=batch.scope_model_id,
        changes=diff.created(diff.snapshot(batch, BATCH_AUDITED_FIELDS)),
        message=batch.error,
    )


# --- running a batch (the task body) ----------------------------------------------------------


def _test_pause() -> None:
    delay = os.environ.get(TEST_DELAY_ENV)
    if delay:
        time.sleep(float(delay))


def _locked(batch_id: int) -> IngestionBatch | None:
    return (
        IngestionBatch.objects.select_for_update(of=("self",))
        .select_related("scope_model", "created_by")
        .filter(pk=batch_id)
        .first()
    )


def _set_stage(batch_id: int, stage: str, progress: int) -> None:
    """Report progress in its own short transaction, so the browser sees it at once."""
    IngestionBatch.objects.filter(pk=batch_id, status=BatchStatus.RUNNING).update(
        stage=stage, progress=progress
    )


def _finish(batch: IngestionBatch, *, status: str, error: str = "", **counts) -> None:
    """Set the final status (inside the caller's transaction) and record it."""
    before = batch.status
    batch.status = status
    batch.error = error
    batch.finished_at = timezone.now()
    batch.progress = 100 if status == BatchStatus.FAILED else 90
    batch.stage = BatchStage.DONE if status == BatchStatus.FAILED else BatchStage.EVALUATING
    for name, value in counts.items():
        setattr(batch, name, value)
    batch.save()
    summary = (
        f"{batch.rows_loaded} loaded, {batch.rows_duplicate} already recorded, "
        f"{batch.rows_rejected} rejected of {batch.rows_total} rows."
    )
    audit_record(
        actor=None,
        action="transition",
        obj=batch,
        model_ref=batch.scope_model_id,
        changes={"status": {"before": before, "after": status}},
        message=f"{error} {summary}".strip() if error else summary,
    )


def ingestion_batch_fail(*, batch_id: int, error: str) -> IngestionBatch | None:
    """Mark a batch failed (unless it is already final), e.g. when its task gave up."""
    with transaction.atomic():
        batch = _locked(batch_id)
        if batch is None or batch.is_final:
            return batch
        _finish(batch, status=BatchStatus.FAILED, error=error)
    return batch


def _lookups(batch: IngestionBatch, parsed: parse.ParsedFile) -> validate.Lookups:
    """What the database knows about the names the file mentions. A model the batch's sender
    may not push to is left out, so it reads as unknown (its existence is not revealed)."""
    from apps.inventory import selectors as inventory_selectors

    slugs, versions, metrics = validate.distinct_names(parsed)
    user = batch.created_by
    candidates = inventory_selectors.model_list(user=user).filter(slug__in=slugs)
    if batch.scope_model_id:
        candidates = candidates.filter(pk=batch.scope_model_id)
    models = {m.slug: m.pk for m in candidates if user.has_perm(PUSH, m)}
    version_ids = {
        (model_id, name): pk
        for model_id, name, pk in ModelVersion.objects.filter(
            model_id__in=models.values(), version__in=versions
        ).values_list("model_id", "version", "pk")
    }
    metric_ids = dict(MetricDefinition.objects.filter(name__in=metrics).values_list("name", "pk"))
    scope = batch.scope_model.slug if batch.scope_model_id else None
    return validate.Lookups(models=models, versions=version_ids, metrics=metric_ids, scope=scope)


def _read(batch: IngestionBatch) -> bytes:
    with batch.file.open("rb") as handle:
        return handle.read()


def _claim(batch_id: int) -> IngestionBatch | None:
    """Mark the batch running; None when there is nothing (more) to do."""
    with transaction.atomic():
        batch = _locked(batch_id)
        if batch is None or batch.is_final:
            return batch
        batch.status = BatchStatus.RUNNING
        batch.stage = BatchStage.PARSING
        batch.progress = 5
        batch.started_at = batch.started_at or timezone.now()
        batch.attempts += 1
        batch.save(update_fields=["status", "stage", "progress", "started_at", "attempts"])
    return batch


def ingestion_batch_run(*, batch_id: int) -> IngestionBatch | None:
    """Parse, validate, load and evaluate one batch. Safe to run twice (redelivery).

    Transient database errors propagate so the task retries; anything else fails the batch
    with a clear error.
    """
    try:
        return _run(batch_id)
    except (OperationalError, InterfaceError):
        raise
    except Exception as exc:
        logger.exception("Ingestion batch %s failed unexpectedly", batch_id)
        if exc.__class__.__name__ == "SoftTimeLimitExceeded":
            error = (
                f"The batch took longer than {settings.MLGOV_INGEST_TIME_LIMIT} seconds "
                "(MLGOV_INGEST_TIME_LIMIT); nothing was loaded."
            )
        else:
            error = f"Unexpected error; nothing was loaded ({exc.__class__.__name__}: {exc})."
        return ingestion_batch_fail(batch_id=batch_id, error=error)


def _run(batch_id: int) -> IngestionBatch | None:
    batch = _claim(batch_id)
    if batch is None:
        return None
    if batch.is_final:
        # Loaded before a crash stopped the evaluation: evaluate (idempotent) and finish.
        if batch.stage != BatchStage.DONE and batch.status != BatchStatus.FAILED:
            _evaluate_and_finish(batch)
        return batch
    _test_pause()
    try:
        parsed = parse.parse_bytes(
            _read(batch), file_name=batch.file_name, max_bytes=settings.MLGOV_INGEST_MAX_BYTES
        )
    except parse.FileRefused as exc:
        return ingestion_batch_fail(batch_id=batch_id, error=exc.message)
    _set_stage(batch_id, BatchStage.VALIDATING, 30)
    _test_pause()
    result = validate.validate(
        parsed,
        lookups=_lookups(batch, parsed),
        now=timezone.now(),
        max_future_minutes=settings.MLGOV_INGEST_MAX_FUTURE_MINUTES,
        max_errors=settings.MLGOV_INGEST_MAX_ROW_ERRORS,
    )
    _set_stage(batch_id, BatchStage.LOADING, 60)
    _test_pause()
    with transaction.atomic():
        batch = _locked(batch_id)
        if batch is None or batch.is_final:
            return batch  # another delivery of this task got here first
        counts = {
            "rows_total": result.rows_total,
            "rows_rejected": result.rows_rejected,
            "row_errors": [e.as_dict() for e in result.errors],
            "file_format": parsed.file_format,
            "compressed": parsed.compressed,
        }
        if result.rows_rejected and not batch.accept_partial:
            _finish(
                batch,
                status=BatchStatus.FAILED,
                error=(
                    f"{result.rows_rejected} of {result.rows_total} rows were rejected, so "
                    "nothing was loaded. Correct them and upload the file again, or accept "
                    "the valid rows only."
                ),
                **counts,
            )
            return batch
        if not result.rows_valid:
            _finish(
                batch,
                status=BatchStatus.FAILED,
                error="No row of the file is valid; nothing was loaded.",
                **counts,
            )
            return batch
        loaded = load_observations(batch=batch, frame=result.frame)
        series = loaded.series
        _test_pause()
        _finish(
            batch,
            status=BatchStatus.PARTIAL if result.rows_rejected else BatchStatus.SUCCEEDED,
            rows_loaded=loaded.loaded,
            rows_duplicate=loaded.duplicate,
            **counts,
        )
    _evaluate_and_finish(batch, series=series)
    return batch


def _evaluate_and_finish(batch: IngestionBatch, *, series=None) -> None:
    """Evaluate the thresholds the batch touched; ``series`` (from the load) saves reading
    the batch's rows back to find them (after a crash they are read back)."""
    from apps.monitoring.evaluation.services import evaluate_batch

    try:
        evaluate_batch(batch=batch, series=series)
    except (OperationalError, InterfaceError):
        raise  # the task retries; the loaded batch is evaluated again (idempotent)
    except Exception as exc:
        logger.exception("Evaluating batch %s failed", batch.pk)
        batch.error = f"The rows were loaded, but evaluating thresholds failed: {exc}"
    batch.stage = BatchStage.DONE
    batch.progress = 100
    IngestionBatch.objects.filter(pk=batch.pk).update(
        stage=batch.stage, progress=batch.progress, error=batch.error
    )


# --- pull sources and the allow-list ----------------------------------------------------------

SOURCE_FIELDS = ("model", "url", "format", "interval_minutes", "enabled")


def normalise_host(hostname: str) -> str:
    return (hostname or "").strip().rstrip(".").lower()


def _check_source_url(url: str) -> None:
    parts = urlsplit(url or "")
    if parts.scheme != "https":
        raise ApplicationError(
            "Only https:// sources are pulled.", field_errors={"url": ["Use an https:// URL."]}
        )
    host = normalise_host(parts.hostname or "")
    if not AllowedPullHost.objects.filter(hostname=host).exists():
        message = f"{host or 'The host'} is not on the allow-list of pull hosts; add it first."
        raise ApplicationError(message, field_errors={"url": [message]})
    egress.check_field("url", url)


@transaction.atomic
def allowed_pull_host_create(*, actor, hostname: str, note: str = "") -> AllowedPullHost:
    """Allow scheduled pulls from ``hostname`` (a bare host name, no scheme or path). The
    egress guard must accept it too: a public host, or one the operator allow-listed."""
    require_perm(actor, "monitoring.manage_allowedpullhost")
    host = AllowedPullHost(hostname=normalise_host(hostname), note=note.strip(), created_by=actor)
    if not host.hostname or any(c in host.hostname for c in "/:@ ?#"):
        raise ApplicationError(
            "Give a host name only, e.g. metrics.example.com.",
            field_errors={"hostname": ["Give a host name only, e.g. metrics.example.com."]},
        )
    validate_instance(host, exclude=["created_by"])
    egress.check_field("hostname", host.hostname, egress.check_host)
    host.save()
    audit_record(
        actor=actor,
        action="create",
        obj=host,
        changes=diff.created(diff.snapshot(host, ("hostname", "note"))),
    )
    return host


@transaction.atomic
def allowed_pull_host_delete(*, actor, host: AllowedPullHost) -> None:
    """Stop pulls from the host (sources on it record an error at their next pull)."""
    require_perm(actor, "monitoring.manage_allowedpullhost", host)
    before = diff.snapshot(host, ("hostname", "note"))
    audit_record(actor=actor, action="delete", obj=host, changes=diff.deleted(before))
    host.delete()


@transaction.atomic
def metric_source_create(
    *,
    actor,
    model: RegisteredModel,
    url: str,
    format: str = "json",
    interval_minutes: int = 60,
    enabled: bool = True,
) -> MetricSource:
    """Pull ``model``'s metrics from ``url`` every ``interval_minutes`` (HTTPS, on an allowed
    host, and accepted by the egress guard)."""
    require_perm(actor, "monitoring.manage_metricsource", model)
    _check_source_url(url)
    source = MetricSource(
        model=model,
        url=url.strip(),
        format=format,
        interval_minutes=interval_minutes,
        enabled=enabled,
        created_by=actor,
    )
    validate_instance(source, exclude=["created_by"])
    source.save()
    audit_record(
        actor=actor,
        action="create",
        obj=source,
        model_ref=model.pk,
        changes=diff.created(diff.snapshot(source, SOURCE_FIELDS)),
    )
    return source


@transaction.atomic
def metric_source_update(*, actor, source: MetricSource, **changes) -> MetricSource:
    require_perm(actor, "monitoring.manage_metricsource", source)
    unknown = set(changes) - set(SOURCE_FIELDS)
    if unknown:
        raise ApplicationError(f"These fields cannot be set here: {', '.join(sorted(unknown))}.")
    before = diff.snapshot(source, SOURCE_FIELDS)
    for name, value in changes.items():
        setattr(source, name, value)
    if "url" in changes:
        _check_source_url(source.url)
    validate_instance(source, exclude=["created_by"])
    source.save()
    audit_record(
        actor=actor,
        action="update",
        obj=source,
        model_ref=source.model_id,
        changes=diff.diff(before, diff.snapshot(source, SOURCE_FIELDS)),
    )
    return source


@transaction.atomic
def metric_source_delete(*, actor, source: MetricSource) -> None:
    require_perm(actor, "monitoring.manage_metricsource", source)
    before = diff.snapshot(source, SOURCE_FIELDS)
    audit_record(
        actor=actor,
        action="delete",
        obj=source,
        model_ref=source.model_id,
        changes=diff.deleted(before),
    )
    source.delete()


def metric_source_record_pull(*, source_id: int, error: str = "") -> None:
    """Remember the outcome of a pull (not audited: a routine, system-made status)."""
    MetricSource.objects.filter(pk=source_id).update(last_error=error[:2000])


def metric_sources_claim_due(*, now) -> list[int]:
    """Mark due sources as pulled now and return their ids; a source claimed by one beat
    tick is not claimed again by the next before its interval has elapsed."""
    from apps.monitoring.ingestion.selectors import sources_due

    claimed = []
    for source in sources_due(now=now):
        updated = MetricSource.objects.filter(
            pk=source.pk, last_pulled_at=source.last_pulled_at
        ).update(last_pulled_at=now)
        if updated:
            claimed.append(source.pk)
    return claimed
