"""Every write of reports: asking for one, and the generation job that fulfils it.

``report_request`` checks the request (kind and format, model, scope, as-of) and the
requester's permission, records the report as queued (audited) and enqueues its job on
commit. ``report_generate`` (the job's body) claims the report, renders it outside any
transaction, then stores the file and marks it done in ONE transaction, so a crash leaves
no half-finished report and a redelivered job stores one file. Failures mark the report
failed with a reason and store nothing. A finished report keeps a manifest of its file
(``apps.reports.manifests``) signed with the installation's Ed25519 key, in the same
transaction. ``report_file_bytes`` reads a finished report back, refusing bytes that no longer
match the recorded SHA-256.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import uuid

from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile
from django.db import InterfaceError, OperationalError, transaction
from django.http import QueryDict
from django.utils import timezone

from apps.audit import diff
from apps.audit.checkpoints import CheckpointError
from apps.audit.models import AuditEvent
from apps.audit.services import audit_checkpoint_write, audit_record
from apps.core import clock
from apps.core.errors import ApplicationError
from apps.core.replica import reading_from_replica
from apps.core.services import require_perm
from apps.core.signing import Signature, installation_signer
from apps.core.validators import datetime_problem
from apps.inventory import selectors as inventory_selectors
from apps.inventory.filters import RegisteredModelFilter
from apps.inventory.models import RegisteredModel
from apps.jobs.services import job_enqueue, job_restart
from apps.reports import generators, manifests, selectors
from apps.reports.choices import (
    GENERATOR,
    KIND_FORMATS,
    MODEL_KINDS,
    OPTIONAL_MODEL_KINDS,
    REPORT_TASK,
    ReportKind,
    ReportStatus,
)
from apps.reports.models import Report, report_upload_to

logger = logging.getLogger(__name__)

REQUEST_AUDITED_FIELDS = ("kind", "format", "model", "scope", "as_of")
K = ReportKind


class ReportFileError(Exception):
    """A finished report's stored file is missing or no longer matches its SHA-256."""


def _invalid(field: str, message: str) -> ApplicationError:
    return ApplicationError(f"{field}: {message}", field_errors={field: [message]})


# --- checking a request ----------------------------------------------------------------------


def _check_kind_and_format(kind: str, fmt: str) -> None:
    if kind not in KIND_FORMATS:
        choices = ", ".join(KIND_FORMATS)
        raise _invalid("kind", f"Unknown report kind {kind!r}; choose one of {choices}.")
    if fmt not in KIND_FORMATS[kind]:
        offered = ", ".join(KIND_FORMATS[kind])
        raise _invalid("format", f"A {K(kind).label.lower()} is offered as {offered}, not {fmt!r}.")


def _check_model(kind: str, model: RegisteredModel | None) -> None:
    if kind in MODEL_KINDS and model is None:
        raise _invalid("model", f"A {K(kind).label.lower()} is about one model; name it.")
    if model is not None and kind not in MODEL_KINDS | OPTIONAL_MODEL_KINDS:
        raise _invalid(
            "model",
            f"The {K(kind).label.lower()} covers the inventory; filter it in the scope instead.",
        )


def _check_as_of(as_of: dt.datetime | None, model: RegisteredModel | None) -> None:
    if as_of is None:
        return
    if timezone.is_naive(as_of):
        raise _invalid("as_of", "Give a time zone, e.g. 2026-01-31T23:59:59Z.")
    if as_of > clock.now():
        raise _invalid("as_of", "The as-of time is in the future; choose a past time or now.")
    if model is not None and model.created_at and as_of < model.created_at:
        when = generators.iso_utc(model.created_at)
        raise _invalid(
            "as_of", f"{model.slug} was registered at {when}; choose a later as-of time."
        )


def _register_filters(user, filters) -> dict:
    """The register's filters, checked with the inventory list's filterset."""
    if not isinstance(filters, dict):
        raise _invalid("scope", "scope.filters must be an object of inventory filters.")
    known = set(RegisteredModelFilter.base_filters)
    unknown = sorted(set(filters) - known)
    if unknown:
        raise _invalid(
            "scope",
            f"Unknown register filter(s) {', '.join(unknown)}; use {', '.join(sorted(known))}.",
        )
    clean: dict[str, str | list[str]] = {}
    query = QueryDict(mutable=True)
    for name in sorted(filters):
        value = filters[name]
        values = value if isinstance(value, list) else [value]
        if not all(isinstance(v, str | int | bool) for v in values):
            raise _invalid("scope", f"Register filter {name} takes text values.")
        values = [str(v).lower() if isinstance(v, bool) else str(v) for v in values]
        values = [v for v in values if v != ""]
        if not values:
            continue
        query.setlist(name, values)
        clean[name] = values if isinstance(value, list) else values[0]
    filterset = RegisteredModelFilter(
        data=query, queryset=inventory_selectors.model_list(user=user)
    )
    if not filterset.is_valid():
        problems = "; ".join(
            f"{name}: {' '.join(str(m) for m in messages)}"
            for name, messages in filterset.errors.items()
        )
        raise _invalid("scope", f"Invalid register filter — {problems}")
    return {"filters": clean} if clean else {}


def _moment(value, name: str) -> dt.datetime:
    if isinstance(value, dt.datetime):
        moment = value
    else:
        moment = generators.parse_iso(value) if isinstance(value, str) else None
        if moment is None and isinstance(value, str):
            try:
                day = dt.date.fromisoformat(value)
            except ValueError:
                day = None
            if day is not None:
                moment = dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)
                if name == "end":
                    moment += dt.timedelta(days=1, microseconds=-1)
        if moment is None:
            raise _invalid("scope", f"scope.{name} must be an ISO 8601 date or time.")
    if timezone.is_naive(moment):
        raise _invalid("scope", f"scope.{name} needs a time zone, e.g. 2026-01-31T00:00:00Z.")
    problem = datetime_problem(moment)
    if problem:
        raise _invalid("scope", f"scope.{name}: {problem}")
    return moment


def _audit_period(scope: dict) -> dict:
    unknown = sorted(set(scope) - {"start", "end"})
    if unknown:
        raise _invalid("scope", f"An audit extract takes start and end only, not {unknown[0]}.")
    period = {
        name: _moment(scope[name], name)
        for name in ("start", "end")
        if scope.get(name) not in (None, "")
    }
    if "start" in period and "end" in period and period["start"] > period["end"]:
        raise _invalid("scope", "scope.start is after scope.end.")
    return {name: moment.astimezone(dt.UTC).isoformat() for name, moment in period.items()}


def _check_scope(user, kind: str, scope) -> dict:
    scope = scope or {}
    if not isinstance(scope, dict):
        raise _invalid("scope", "The scope must be an object.")
    if kind == K.REGISTER:
        unknown = sorted(set(scope) - {"filters"})
        if unknown:
            raise _invalid("scope", f"The register's scope takes filters only, not {unknown[0]}.")
        return _register_filters(user, scope.get("filters") or {})
    if kind == K.AUDIT_EXTRACT:
        return _audit_period(scope)
    if scope:
        raise _invalid("scope", f"A {K(kind).label.lower()} takes no scope.")
    return {}


# --- asking for a report ---------------------------------------------------------------------


def _enqueue(report: Report) -> None:
    """Commit the job with the report (the outbox); it is sent after commit."""
    job_enqueue(task=REPORT_TASK, object_id=report.pk)


@transaction.atomic
def report_request(
    *,
    user,
    kind: str,
    fmt: str,
    model: RegisteredModel | None = None,
    scope: dict | None = None,
    as_of: dt.datetime | None = None,
    enqueue: bool = True,
) -> Report:
    """Record a report request and queue its generation (on commit).

    Raises ApplicationError naming the field (kind, format, model, scope, as_of) for a bad
    request, PermissionDenied when the user may not generate this report. ``enqueue=False``
    leaves the job to the caller (``manage.py generate_report`` runs it in process).
    """
    if user is None or not user.has_perm("reports.add_report"):
        raise PermissionDenied("You are not allowed to request reports.")
    _check_kind_and_format(kind, fmt)
    _check_model(kind, model)
    require_perm(user, selectors.required_perm(kind, model), model)
    _check_as_of(as_of, model)
    clean_scope = _check_scope(user, kind, scope)
    if as_of is not None and "health" in clean_scope.get("filters", {}):
        # Health is read from what is open now; it cannot be applied to a past register.
        raise _invalid(
            "scope",
            "The health filter describes models now; remove it to report as of a past time.",
        )
    report = Report(
        kind=kind,
        format=fmt,
        model=model,
        scope=clean_scope,
        as_of=as_of,
        requested_by=user,
        generator=GENERATOR,
        task_id=uuid.uuid4().hex,
    )
    report.save()
    audit_record(
        actor=user,
        action=AuditEvent.Action.CREATE,
        obj=report,
        model_ref=report.model_id,
        changes=diff.created(diff.snapshot(report, REQUEST_AUDITED_FIELDS)),
        message=f"{report.get_kind_display()} ({report.get_format_display()}) requested.",
    )
    if enqueue:
        _enqueue(report)
    return report


def report_retry(*, user, report: Report) -> Report:
    """Ask again for a failed report, or send a stalled one to a worker again (whoever asked
    for it, or an administrator). A failed report stays as it is, for the record: the retry is
    a new request with the same kind, format, model, scope and as-of."""
    require_perm(user, "reports.retry_report", report)
    if report.status == ReportStatus.FAILED:
        return report_request(
            user=user,
            kind=report.kind,
            fmt=report.format,
            model=report.model,
            scope=report.scope,
            as_of=report.as_of,
        )
    with transaction.atomic():
        report = _locked(report.pk)
        if not selectors.report_retryable(report):
            raise ApplicationError(
                f"Only a failed or stalled report can be asked for again; report {report.pk} "
                f"is {report.get_status_display().lower()}."
            )
        audit_record(
            actor=user,
            action=AuditEvent.Action.UPDATE,
            obj=report,
            model_ref=report.model_id,
            changes={"job": {"before": "stalled", "after": "sent again"}},
            message="Sent to a worker again by its owner.",
        )
        job_restart(task=REPORT_TASK, object_id=report.pk)
    return report


# --- generating it (the job) -----------------------------------------------------------------


def _locked(report_id: int) -> Report | None:
    return (
        Report.objects.select_for_update(of=("self",))
        .select_related("model", "requested_by")
        .filter(pk=report_id)
        .first()
    )


def _claim(report_id: int) -> Report | None:
    """Mark the report running and fix its effective as-of; None when it does not exist."""
    with transaction.atomic():
        report = _locked(report_id)
        if report is None or report.is_final:
            return report
        now = clock.now()
        report.status = ReportStatus.RUNNING
        report.started_at = report.started_at or now
        report.effective_as_of = report.effective_as_of or report.as_of or now
        report.attempts += 1
        report.save(_transition=True)
    return report


def _finish(
    report: Report, *, status: str, error: str = "", finished_at: dt.datetime | None = None
) -> None:
    """Set the final status inside the caller's transaction and record it."""
    before = report.status
    report.status = status
    report.error = error
    report.finished_at = finished_at or clock.now()
    report.save(_transition=True)
    changes = {"status": {"before": before, "after": status}}
    if status == ReportStatus.DONE:
        changes["sha256"] = {"before": None, "after": report.sha256}
        message = f"{report.filename}: {report.size} bytes, SHA-256 {report.sha256}."
        if report.signing_key_id:
            # The signature joins the hash chain: a later swap of manifest or key shows.
            changes["signature"] = {"before": None, "after": report.signature}
            changes["signing_key_id"] = {"before": None, "after": report.signing_key_id}
            message += f" Manifest signed with key {report.signing_key_id}."
    else:
        message = error
    audit_record(
        actor=None,
        action=AuditEvent.Action.TRANSITION,
        obj=report,
        model_ref=report.model_id,
        changes=changes,
        message=message,
    )


def report_fail(*, report_id: int, error: str) -> Report | None:
    """Mark a report failed (unless it is already final), storing nothing."""
    with transaction.atomic():
        report = _locked(report_id)
        if report is None or report.is_final:
            return report
        _finish(report, status=ReportStatus.FAILED, error=error)
    return report


def _audit_head(as_of: dt.datetime) -> dict:
    from apps.reports.history import audit_head_at

    return audit_head_at(as_of)


def generation_meta(report: Report) -> dict:
    """The generation metadata every renderer prints (see the reports contract)."""
    return {
        "generated_at": generators.iso_utc(clock.now()),
        "generated_by": generators.person_of(report.requested_by),
        "generator": GENERATOR,
        "snapshot_sha256": "",
        "audit_chain_head": _audit_head(report.effective_as_of),
        "as_of": generators.iso_utc(report.effective_as_of),
        "report_id": report.pk,
    }


def report_manifest_document(report: Report, output: generators.Output, *, created_at) -> dict:
    """The manifest of the file ``output`` of ``report`` (see ``apps.reports.manifests``)."""
    iso = generators.iso_utc
    return manifests.report_manifest(
        report_id=report.pk,
        kind=report.kind,
        fmt=report.format,
        model_slug=report.model.slug if report.model_id else None,
        scope=report.scope,
        as_of=iso(report.effective_as_of) if report.effective_as_of else None,
        requested_as_of=iso(report.as_of) if report.as_of else None,
        generator=GENERATOR,
        requested_by=report.requested_by.get_username(),
        requested_at=iso(report.requested_at),
        created_at=iso(created_at),
        filename=output.filename,
        content_type=output.content_type,
        data=output.data,
        snapshot_sha256=output.snapshot_sha256,
        audit_chain_head=output.audit_chain_head,
        audit_checkpoint=output.audit_checkpoint,
    )


def _store(report_id: int, output: generators.Output) -> Report | None:
    """Write the file and mark the report done in one transaction; on any failure the file
    is removed again, so a report is either done with its file or has none."""
    data = output.data
    saved_name = None
    try:
        with transaction.atomic():
            report = _locked(report_id)
            if report is None or report.is_final:
                return report  # another delivery of this job got here first
            storage = report.file.storage
            name = report_upload_to(report, output.filename)
            if storage.exists(name):
                storage.delete(name)  # left by an attempt that died before its commit
            saved_name = storage.save(name, ContentFile(data))
            report.file.name = saved_name
            report.filename = output.filename
            report.content_type = output.content_type
            report.size = len(data)
            report.sha256 = hashlib.sha256(data).hexdigest()
            report.generator = GENERATOR
            report.snapshot_sha256 = output.snapshot_sha256
            head = output.audit_chain_head or {}
            report.audit_head_sequence = head.get("sequence")
            report.audit_head_hash = head.get("hash", "")
            now = clock.now()
            manifest = manifests.manifest_bytes(
                report_manifest_document(report, output, created_at=now)
            )
            signature = installation_signer().sign(manifest)
            report.manifest = manifest.decode("ascii")
            report.signature = signature.value_b64
            report.signing_key_id = signature.key_id
            _finish(report, status=ReportStatus.DONE, finished_at=now)
    except Exception:
        if saved_name is not None:
            Report.file.field.storage.delete(saved_name)
        raise
    return report


def report_generate(*, report_id: int) -> Report | None:
    """Generate the report's file. Idempotent: a done (or failed) report is returned as it
    is, and running the job twice stores one file. Transient database errors propagate so
    the task retries; any other error fails the report with a reason."""
    try:
        return _generate(report_id)
    except (OperationalError, InterfaceError):
        raise
    except Exception as exc:
        logger.exception("Report %s failed unexpectedly", report_id)
        if exc.__class__.__name__ == "SoftTimeLimitExceeded":
            error = "Generating the report took longer than the time limit; nothing was stored."
        else:
            error = (
                f"Generating the report failed unexpectedly ({exc.__class__.__name__}: {exc}); "
                "nothing was stored."
            )
        return report_fail(report_id=report_id, error=error)


def _generate(report_id: int) -> Report | None:
    report = _claim(report_id)
    if report is None or report.is_final:
        return report
    if not selectors.may_generate(report.requested_by, report.kind, report.model):
        return report_fail(
            report_id=report_id,
            error=f"{report.requested_by} may no longer generate this report; nothing was stored.",
        )
    try:
        # The chain head, signed outside the database, printed in the report (README, "Audit
        # trail"): a chain that no longer holds the last checkpoint is not vouched for.
        checkpoint = audit_checkpoint_write(reason=f"report {report_id}")
    except CheckpointError as exc:
        return report_fail(report_id=report_id, error=f"{exc} Nothing was stored.")
    meta = {**generation_meta(report), "audit_checkpoint": checkpoint.record()}
    try:
        # The snapshot's reads, from the replica once it holds every row committed so far
        # (apps/core/replica.py); the claim, checkpoint and store stay on the primary.
        with reading_from_replica(fresh=True):
            output = generators.generate(
                kind=report.kind,
                fmt=report.format,
                model=report.model,
                scope_params=report.scope,
                as_of=report.as_of,
                meta=meta,
                user=report.requested_by,
            )
    except generators.GenerationError as exc:
        return report_fail(report_id=report_id, error=f"{exc} Nothing was stored.")
    except (ApplicationError, PermissionDenied) as exc:  # refused by a report module
        reason = getattr(exc, "message", None) or str(exc)
        return report_fail(report_id=report_id, error=f"{reason} Nothing was stored.")
    if output.audit_chain_head is None:
        output = generators.Output(
            **{**output.__dict__, "audit_chain_head": meta["audit_chain_head"]}
        )
    output = generators.Output(**{**output.__dict__, "audit_checkpoint": meta["audit_checkpoint"]})
    return _store(report_id, output)


# --- reading a finished report back ----------------------------------------------------------


def report_file_bytes(*, report: Report) -> bytes:
    """The stored bytes of a done report, checked against its recorded SHA-256."""
    if report.status != ReportStatus.DONE or not report.file:
        raise ReportFileError(f"Report {report.pk} has no file ({report.get_status_display()}).")
    try:
        # Through the storage, not the field's cached file object: read afresh every time.
        with report.file.storage.open(report.file.name, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        logger.error("Report %s: stored file %s unreadable: %s", report.pk, report.file.name, exc)
        raise ReportFileError(
            f"The stored file of report {report.pk} is missing or unreadable; it cannot be sent."
        ) from exc
    digest = hashlib.sha256(data).hexdigest()
    if digest != report.sha256:
        logger.error(
            "Report %s: stored file %s has SHA-256 %s, recorded %s",
            report.pk,
            report.file.name,
            digest,
            report.sha256,
        )
        raise ReportFileError(
            f"The stored file of report {report.pk} no longer matches its recorded SHA-256 "
            f"({report.sha256}); it was changed after generation and is not sent."
        )
    return data


def report_signed_manifest(*, report: Report) -> tuple[bytes, bytes]:
    """The signed manifest of a done report (its exact bytes) and its signature document."""
    if not report.is_done:
        state = report.get_status_display().lower()
        raise ReportFileError(f"Report {report.pk} is {state}; it has no signed manifest.")
    if not report.is_signed:
        raise ReportFileError(
            f"Report {report.pk} was generated before signing existed; it has no signed manifest."
        )
    signature = Signature.from_parts(key_id=report.signing_key_id, value_b64=report.signature)
    return report.manifest.encode("ascii"), signature.document_bytes()
