"""Every write of metric ingestion: batches, scheduled-pull sources and the pull allow-list.

A batch is created (``ingestion_batch_create``: size check, SHA-256 and format sniffed from
the stream, dedupe, file stored by streaming, audited, job enqueued with the commit) and then
run by a Celery task (``ingestion_batch_run``).

Memory is bounded by design. The web process never reads a file whole: it hashes the upload
(spooled to disk by Django) in 1 MB chunks and the storage copies or moves it. The worker
reads, validates and loads the stored file chunk by chunk (``parse.read_chunks``,
``validate.validate`` per chunk, ``loader.StreamLoad``), so its peak memory is that of one
chunk whatever the file's size.

All or nothing: the whole chunked load runs in ONE transaction, which also sets the final
status, so a refused file writes nothing, a crash before that commit leaves nothing, and a
redelivered task starts again and loads the rows once. One transaction rather than a
staging table committed per chunk, because then nothing (no half-loaded rows, no staging
rows to clean up after a crash) can outlive a failed run, and new data, the usual case,
goes straight into the table with no second copy. Rows that exist already (recorded by an
earlier batch, or repeated further down the same file) make that straight copy fail; the
pass is rolled back to its savepoint and the file is read again into a temporary staging
table, from which repeats are reported and the new rows inserted. Progress is written
through a second connection meanwhile (PostgreSQL), since the load's own writes are not
visible before the commit.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import datetime
import gc
import hashlib
import logging
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.core.files.base import ContentFile, File
from django.db import IntegrityError, InterfaceError, OperationalError, connection, transaction

from apps.audit import diff
from apps.audit.models import AuditEvent
from apps.audit.services import audit_record, audited_update
from apps.core import clock, egress
from apps.core.errors import ApplicationError
from apps.core.services import require_perm, validate_instance
from apps.inventory import selectors as inventory_selectors
from apps.inventory.models import ModelVersion, RegisteredModel
from apps.jobs.selectors import job_stalled
from apps.jobs.services import job_enqueue, job_restart
from apps.monitoring.choices import INGEST_TASK, BatchStage, BatchStatus, IngestionSource
from apps.monitoring.ingestion import loader, parse, selectors, validate
from apps.monitoring.ingestion.selectors import PUSH, normalise_host, pull_url_refusal
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


def _megabytes(n: int) -> str:
    return f"{n / (1024 * 1024):.0f} MB"


# --- creating a batch -------------------------------------------------------------------------


def _live_batch(sha256: str, scope_model: RegisteredModel | None) -> IngestionBatch | None:
    """The queued, running or loaded batch of this content for this scope, if any. One whose
    job stalled (its worker died, or it waited too long for one) is sent again first, so
    sending a file again never hands back a dead batch."""
    batch = (
        IngestionBatch.objects.filter(sha256=sha256, scope_model=scope_model, status__in=LIVE)
        .order_by("pk")
        .first()
    )
    stalled = batch is not None and not batch.is_final
    if stalled and job_stalled(task=INGEST_TASK, object_id=batch.pk):
        job_restart(task=INGEST_TASK, object_id=batch.pk)
    return batch


def _enqueue(batch: IngestionBatch) -> None:
    """Commit the job with the batch (the outbox); it is sent after commit."""
    job_enqueue(task=INGEST_TASK, object_id=batch.pk)


Content = bytes | bytearray | memoryview | File


def _as_file(data: Content) -> File:
    """The content as a Django ``File``: uploads and stored files as they are, bytes (API
    rows, pulls, the demo) wrapped."""
    if isinstance(data, bytes | bytearray | memoryview):
        return ContentFile(bytes(data))
    return data if isinstance(data, File) else File(data)


def _digest(content: File) -> tuple[str, int, bytes]:
    """SHA-256, size and first bytes of the content, read in 1 MB chunks (never whole)."""
    digest, size, head = hashlib.sha256(), 0, b""
    for chunk in content.chunks(chunk_size=1 << 20):  # from the start
        if len(head) < 8:
            head += chunk[:8]
        digest.update(chunk)
        size += len(chunk)
    content.seek(0)
    return digest.hexdigest(), size, head


def ingestion_batch_create(
    *,
    user,
    source: str,
    data: Content,
    file_name: str,
    scope_model: RegisteredModel | None = None,
    accept_partial: bool = False,
    metric_source: MetricSource | None = None,
) -> tuple[IngestionBatch, bool]:
    """Record a file of observations and queue it for loading.

    ``data`` is the content as bytes or as a file object (an upload, spooled to disk by
    Django): it is hashed and stored by streaming, never read whole into memory.

    Returns ``(batch, created)``. The same content for the same scope as a queued, running or
    loaded batch returns that batch with ``created=False`` and loads nothing. A file over
    ``MLGOV_INGEST_MAX_BYTES`` is recorded as a failed batch without being stored.

    No orphan files: the batch row is inserted first (a concurrent request with the same
    content for the same scope fails on the unique constraint there, before anything is
    stored), the file is stored under that row, and a failure before the commit deletes
    what was stored. A caller's own transaction that rolls back later leaves the file
    behind: ``ingestion_files_sweep`` removes files no batch refers to.
    """
    require_perm(user, PUSH, scope_model)
    if source not in IngestionSource.values:
        raise ApplicationError(f"Unknown ingestion source {source!r}.")
    content = _as_file(data)
    sha256, size, head = _digest(content)
    max_bytes = settings.MLGOV_INGEST_MAX_BYTES
    file_name = os.path.basename(file_name or "")[:255] or "metrics"
    file_format, compressed = parse.sniff(head, file_name)
    batch = IngestionBatch(
        source=source,
        scope_model=scope_model,
        metric_source=metric_source,
        file_name=file_name,
        file_format=file_format,
        compressed=compressed,
        sha256=sha256,
        size_bytes=size,
        accept_partial=accept_partial,
        created_by=user,
        task_id=uuid.uuid4().hex,
    )
    if size > max_bytes:
        batch.status = BatchStatus.FAILED
        batch.stage = BatchStage.DONE
        batch.error = (
            f"The file is larger than the limit of {_megabytes(max_bytes)} "
            "(MLGOV_INGEST_MAX_BYTES); nothing was loaded. Split it into smaller files."
        )
        batch.finished_at = clock.now()
        with transaction.atomic():
            batch.save()
            _audit_created(user, batch)
        return batch, True

    existing = _live_batch(sha256, scope_model)
    if existing is not None:
        return existing, False
    stored: list[str] = []
    try:
        with transaction.atomic():
            try:
                with transaction.atomic():
                    batch.save()
            except IntegrityError:
                # Another request sent the same content for the same scope a moment ago.
                existing = _live_batch(sha256, scope_model)
                if existing is None:
                    raise
                return existing, False
            batch.file.save(file_name, content, save=False)  # streamed by the storage
            stored.append(batch.file.name)
            batch.save(update_fields=["file"])
            _audit_created(user, batch)
            _enqueue(batch)
    except BaseException:
        for name in stored:
            batch.file.storage.delete(name)
        raise
    return batch, True


def ingestion_files_sweep(*, older_than: datetime.timedelta) -> list[str]:
    """Delete stored ingestion files that no batch refers to and that are older than
    ``older_than`` (left by a transaction rolled back after the file was stored, or a
    process killed in between); the names deleted."""
    return stored_files_sweep(
        root="ingestion",
        referenced=lambda path: IngestionBatch.objects.filter(file=path).exists(),
        older_than=older_than,
    )


def stored_files_sweep(
    *, root: str, referenced: Callable[[str], bool], older_than: datetime.timedelta
) -> list[str]:
    """Delete the files ``root/<folder>/<name>`` of the default storage that are older than
    ``older_than`` and that ``referenced`` says no row refers to; the names deleted. The age
    leaves alone a file whose row is not committed yet."""
    from django.core.files.storage import default_storage

    cutoff = clock.now() - older_than
    deleted: list[str] = []
    try:
        folders, _ = default_storage.listdir(root)
    except FileNotFoundError:
        return deleted
    for folder in folders:
        _, names = default_storage.listdir(f"{root}/{folder}")
        for name in names:
            path = f"{root}/{folder}/{name}"
            if default_storage.get_modified_time(path) > cutoff or referenced(path):
                continue
            default_storage.delete(path)
            deleted.append(path)
    return deleted


def _audit_created(user, batch: IngestionBatch) -> None:
    audit_record(
        actor=user,
        action=AuditEvent.Action.CREATE,
        obj=batch,
        model_ref=batch.scope_model_id,
        changes=diff.created(diff.snapshot(batch, BATCH_AUDITED_FIELDS)),
        message=batch.error,
    )


# --- running a batch (the task body) ----------------------------------------------------------


def run_checkpoint(point: str) -> None:
    """A named point of a run: ``claimed`` (the batch is marked running), ``validating`` (its
    stage is shown) and ``committing`` (the rows are loaded, the load's transaction about to
    commit). Nothing happens here; it is the seam at which the fault tests' workers hold a
    run (their settings replace it), so a test can kill a worker in the middle of a batch."""


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
    batch.finished_at = clock.now()
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
        action=AuditEvent.Action.TRANSITION,
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


@transaction.atomic
def ingestion_batch_retry(*, user, batch: IngestionBatch) -> IngestionBatch:
    """Send a failed or stalled batch again (its sender, or an administrator). A failed batch
    starts afresh from its stored file; a stalled one is sent to a worker again."""
    require_perm(user, "monitoring.retry_ingestionbatch", batch)
    batch = _locked(batch.pk)
    before = batch.status
    if batch.status == BatchStatus.FAILED:
        if not batch.file:
            raise ApplicationError(
                "This batch's file was not stored (it was over the size limit); "
                "send a smaller file instead."
            )
        other = _live_batch(batch.sha256, batch.scope_model)
        if other is not None:
            raise ApplicationError(
                f"The same file is already {other.get_status_display().lower()} as batch "
                f"{other.pk}; nothing is loaded twice."
            )
        batch.status = BatchStatus.QUEUED
        batch.stage = BatchStage.WAITING
        batch.progress = 0
        batch.error = ""
        batch.started_at = batch.finished_at = None
        batch.rows_total = batch.rows_loaded = batch.rows_duplicate = batch.rows_rejected = 0
        batch.row_errors = []
        batch.save()
    elif not selectors.batch_retryable(batch):
        raise ApplicationError(
            f"Only a failed or stalled batch can be sent again; batch {batch.pk} is "
            f"{batch.get_status_display().lower()}."
        )
    audit_record(
        actor=user,
        action=AuditEvent.Action.TRANSITION,
        obj=batch,
        model_ref=batch.scope_model_id,
        changes={"status": {"before": before, "after": batch.status}},
        message="Sent again by its owner.",
    )
    job_restart(task=INGEST_TASK, object_id=batch.pk)
    return batch


class _Lookups:
    """What the database knows about the names a file mentions, fetched chunk by chunk (only
    for names no earlier chunk mentioned). A model the batch's sender may not push to is left
    out, so it reads as unknown (its existence is not revealed)."""

    def __init__(self, batch: IngestionBatch):
        self.batch = batch
        self.scope = batch.scope_model.slug if batch.scope_model_id else None
        self.models: dict[str, int] = {}
        self.versions: dict[tuple[int, str], int] = {}
        self.metrics: dict[str, int] = {}
        self._slugs: set[str] = set()
        self._version_names: set[str] = set()
        self._metric_names: set[str] = set()

    def for_chunk(self, parsed: parse.ParsedFile) -> validate.Lookups:
        slugs, versions, metrics = validate.distinct_names(parsed)
        user = self.batch.created_by
        new_slugs, new_versions = slugs - self._slugs, versions - self._version_names
        new_models = {}
        if new_slugs:
            self._slugs |= new_slugs
            candidates = inventory_selectors.model_list(user=user).filter(slug__in=new_slugs)
            if self.batch.scope_model_id:
                candidates = candidates.filter(pk=self.batch.scope_model_id)
            new_models = {m.slug: m.pk for m in candidates if user.has_perm(PUSH, m)}
            self.models.update(new_models)
        if new_versions or new_models:
            self._version_names |= new_versions
            self.versions.update(
                ((model_id, name), pk)
                for model_id, name, pk in ModelVersion.objects.filter(
                    model_id__in=self.models.values(), version__in=self._version_names
                ).values_list("model_id", "version", "pk")
            )
        new_metrics = metrics - self._metric_names
        if new_metrics:
            self._metric_names |= new_metrics
            self.metrics.update(
                MetricDefinition.objects.filter(name__in=new_metrics).values_list("name", "pk")
            )
        return validate.Lookups(
            models=self.models, versions=self.versions, metrics=self.metrics, scope=self.scope
        )


class _Progress:
    """The progress of a run while its rows are loaded in one transaction, written through a
    second connection (PostgreSQL) so the browser sees it before the commit; at most once a
    second, and never waiting on a lock. Elsewhere (SQLite: one writer) it is not shown."""

    def __init__(self, batch_id: int, size: int):
        self.batch_id, self.size = batch_id, max(size, 1)
        self._last = 0.0
        self._conn = None
        if connection.vendor != "postgresql":
            return
        try:
            self._conn = connection.get_new_connection(connection.get_connection_params())
            self._conn.autocommit = True
            self._conn.execute("SET lock_timeout = '1s'")
        except Exception:  # progress is a courtesy: never fail a batch over it
            logger.warning("No progress connection for batch %s", batch_id, exc_info=True)
            self._conn = None

    def update(self, position: int) -> None:
        now = time.monotonic()
        if self._conn is None or now - self._last < 1:
            return
        self._last = now
        progress = 10 + int(80 * min(position / self.size, 1))
        try:
            self._conn.execute(
                f"UPDATE {IngestionBatch._meta.db_table} SET stage = %s, progress = %s "  # noqa: S608
                "WHERE id = %s AND status = %s",
                [BatchStage.LOADING, progress, self.batch_id, BatchStatus.RUNNING],
            )
        except Exception:
            logger.warning("Progress of batch %s not written", self.batch_id, exc_info=True)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


@dataclass
class _Scan:
    """What one pass over a file found and loaded."""

    max_errors: int
    rows_total: int = 0
    rows_rejected: int = 0
    rows_valid: int = 0
    loaded: int = 0
    errors: list[parse.RowError] = field(default_factory=list)
    series: tuple = ()
    file_format: str = ""
    compressed: bool = False
    error: str = ""  # why nothing was loaded

    def add_errors(self, errors: list[parse.RowError]) -> None:
        if errors:
            merged = sorted(
                [*self.errors, *errors],
                key=lambda e: (e.row, validate.COLUMN_ORDER.get(e.column, 99)),
            )
            self.errors = merged[: self.max_errors]

    def counts(self) -> dict:
        return {
            "rows_total": self.rows_total,
            "rows_rejected": self.rows_rejected,
            "row_errors": [e.as_dict() for e in self.errors],
            "file_format": self.file_format,
            "compressed": self.compressed,
        }


class _Discard(Exception):
    """Nothing of the file is loaded (raised inside the load's savepoint to roll it back)."""

    def __init__(self, scan: _Scan):
        super().__init__(scan.error)
        self.scan = scan


def _scan(batch: IngestionBatch, *, staged: bool, progress: _Progress) -> _Scan:
    """Read, validate and load the file chunk by chunk in the caller's transaction; raise
    ``_Discard`` when nothing may be loaded, ``loader.Conflict`` when a straight load met a
    row that exists already, ``parse.FileRefused`` for a file that cannot be read."""
    max_errors = settings.MLGOV_INGEST_MAX_ROW_ERRORS
    scan = _Scan(max_errors=max_errors)
    lookups = _Lookups(batch)
    load = loader.StreamLoad(batch_id=batch.pk, staged=staged)
    info = parse.FileInfo()
    now = clock.now()
    with batch.file.open("rb") as handle:
        chunks = parse.read_chunks(
            handle,
            file_name=batch.file_name,
            max_bytes=settings.MLGOV_INGEST_MAX_BYTES,
            info=info,
        )
        for chunk in chunks:
            if chunk.frame.empty:  # only unreadable rows
                scan.rows_total += chunk.rows_total
                scan.rows_rejected += chunk.unreadable_rows
                scan.add_errors(chunk.errors)
                continue
            result = validate.validate(
                chunk,
                lookups=lookups.for_chunk(chunk),
                now=now,
                max_future_minutes=settings.MLGOV_INGEST_MAX_FUTURE_MINUTES,
                max_errors=max_errors,
            )
            load.add(result.frame, result.row_numbers)
            scan.rows_total += result.rows_total
            scan.rows_rejected += result.rows_rejected
            scan.rows_valid += result.rows_valid
            scan.add_errors(result.errors)
            progress.update(info.position)
    scan.file_format, scan.compressed = info.file_format, info.compressed
    repeats, repeated = load.repeats(max_errors)
    if repeated:
        scan.rows_rejected += repeated
        scan.rows_valid -= repeated
        scan.add_errors(
            [
                parse.RowError(
                    r.row,
                    "timestamp",
                    r.timestamp,
                    f"Same model, version, metric, segment and timestamp as row {r.first_row}.",
                )
                for r in repeats
            ]
        )
    if scan.rows_rejected and not batch.accept_partial:
        scan.error = (
            f"{scan.rows_rejected} of {scan.rows_total} rows were rejected, so nothing was "
            "loaded. Correct them and upload the file again, or accept the valid rows only."
        )
        raise _Discard(scan)
    if not scan.rows_valid:
        scan.error = "No row of the file is valid; nothing was loaded."
        raise _Discard(scan)
    scan.loaded = load.insert()
    scan.series = tuple(sorted(load.series))
    return scan


def _scan_file(batch: IngestionBatch, progress: _Progress) -> _Scan:
    """Load the file straight into the table; if a row exists already, roll that back and
    load it again through the staging table (see ``loader.StreamLoad``)."""
    try:
        with transaction.atomic():
            return _scan(batch, staged=False, progress=progress)
    except loader.Conflict:
        logger.info("Batch %s meets recorded or repeated rows: loading it staged", batch.pk)
    with transaction.atomic():
        return _scan(batch, staged=True, progress=progress)


def _claim(batch_id: int) -> IngestionBatch | None:
    """Mark the batch running; None when there is nothing (more) to do."""
    with transaction.atomic():
        batch = _locked(batch_id)
        if batch is None or batch.is_final:
            return batch
        batch.status = BatchStatus.RUNNING
        batch.stage = BatchStage.PARSING
        batch.progress = 5
        batch.started_at = batch.started_at or clock.now()
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
    run_checkpoint("claimed")
    _set_stage(batch_id, BatchStage.VALIDATING, 10)
    run_checkpoint("validating")
    size_bytes = batch.size_bytes
    progress = _Progress(batch_id, size_bytes)
    try:
        with transaction.atomic():
            try:
                scan = _scan_file(batch, progress)
            except _Discard as discarded:
                scan = discarded.scan
            progress.close()  # before the batch row is locked below
            run_checkpoint("committing")
            batch = _locked(batch_id)
            if batch is None or batch.is_final:
                transaction.set_rollback(True)
                return batch  # another delivery of this task got here first
            if scan.error:
                _finish(batch, status=BatchStatus.FAILED, error=scan.error, **scan.counts())
                return batch
            _finish(
                batch,
                status=BatchStatus.PARTIAL if scan.rows_rejected else BatchStatus.SUCCEEDED,
                rows_loaded=scan.loaded,
                rows_duplicate=scan.rows_valid - scan.loaded,
                **scan.counts(),
            )
    except parse.FileRefused as exc:
        return ingestion_batch_fail(batch_id=batch_id, error=exc.message)
    finally:
        progress.close()
        if size_bytes >= RELEASE_AFTER_BYTES:
            release_memory()
    _evaluate_and_finish(batch, series=scan.series)
    return batch


#: A run of a smaller file leaves too little behind to be worth ``release_memory`` (a full
#: garbage collection costs 0.1-0.3 s, more than loading a small file).
RELEASE_AFTER_BYTES = 1024 * 1024


def release_memory() -> None:
    """Give the memory a large job freed back to the operating system (glibc and Arrow's
    allocator keep freed pages otherwise), so a long-lived worker's resident size returns
    towards its idle level between jobs and between a drift run's passes."""
    import pyarrow

    gc.collect()
    pyarrow.default_memory_pool().release_unused()  # Arrow's own allocator keeps pages too
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to trim
        ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim(0)


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


def _check_source_url(url: str) -> None:
    """The pull rule (``pull_url_refusal``, asked again at every pull), then the egress guard."""
    refusal = pull_url_refusal(url)
    if refusal:
        raise ApplicationError(refusal, field_errors={"url": [refusal]})
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
        action=AuditEvent.Action.CREATE,
        obj=host,
        changes=diff.created(diff.snapshot(host, ("hostname", "note"))),
    )
    return host


@transaction.atomic
def allowed_pull_host_delete(*, actor, host: AllowedPullHost) -> None:
    """Stop pulls from the host (sources on it record an error at their next pull)."""
    require_perm(actor, "monitoring.manage_allowedpullhost", host)
    before = diff.snapshot(host, ("hostname", "note"))
    audit_record(
        actor=actor, action=AuditEvent.Action.DELETE, obj=host, changes=diff.deleted(before)
    )
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
        action=AuditEvent.Action.CREATE,
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
    source, _ = audited_update(
        source,
        actor=actor,
        data=changes,
        fields=SOURCE_FIELDS,
        model_ref=source.model_id,
        check=(lambda _, source: _check_source_url(source.url)) if "url" in changes else None,
        exclude=["created_by"],
    )
    return source


@transaction.atomic
def metric_source_delete(*, actor, source: MetricSource) -> None:
    require_perm(actor, "monitoring.manage_metricsource", source)
    before = diff.snapshot(source, SOURCE_FIELDS)
    audit_record(
        actor=actor,
        action=AuditEvent.Action.DELETE,
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
