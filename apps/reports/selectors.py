"""Reads of report records, restricted to what the user may see (``reports.view_report``)."""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.core.cache import cache
from django.db.models import Q, QuerySet
from django.http import Http404
from redis.exceptions import RedisError

from apps.audit.models import AuditEvent
from apps.core.predicates import reads_audit_log
from apps.inventory import selectors as inventory_selectors
from apps.inventory.models import RegisteredModel
from apps.jobs.selectors import job_stalled
from apps.reports.choices import REPORT_TASK, ReportFormat, ReportKind, ReportStatus
from apps.reports.models import Report
from apps.reports.rules import requests_reports

logger = logging.getLogger(__name__)


def required_perm(kind: str, model: RegisteredModel | None) -> str:
    """The rules permission that generating ``kind`` (about ``model``, if any) needs."""
    if kind in (ReportKind.AUDIT_EXTRACT, ReportKind.EVIDENCE_PACK):
        return "reports.generate_audit_report"
    if kind == ReportKind.MODEL_CARD or (kind == ReportKind.LINEAGE and model is not None):
        return "reports.generate_model_report"
    return "reports.generate_inventory_report"


def may_generate(user, kind: str, model: RegisteredModel | None = None) -> bool:
    """Whether ``user`` may ask for a report of ``kind`` (about ``model``, if any)."""
    return user is not None and user.has_perm(required_perm(kind, model), model)


def report_list(*, user, model: RegisteredModel | None = None) -> QuerySet[Report]:
    """Reports the user sees, newest first: every report for audit readers; for the other
    roles (viewers excepted) those they asked for, about a model they still see or about the
    inventory. Mirrors ``reports.view_report``."""
    if not requests_reports.test(user):
        return Report.objects.none()
    qs = Report.objects.all()
    if not reads_audit_log.test(user):
        visible = inventory_selectors.model_list(user=user).order_by().values("pk")
        qs = qs.filter(requested_by=user).filter(Q(model__isnull=True) | Q(model__in=visible))
    if model is not None:
        qs = qs.filter(model=model)
    return qs.select_related("model", "requested_by").order_by("-requested_at", "-pk")


def card_pdf_latest(*, user, model: RegisteredModel, as_of: dt.datetime | None) -> Report | None:
    """The newest finished PDF model card of ``model`` that ``user`` may download, asked for
    with the same as-of (``None``: as of its making), or ``None``."""
    return (
        report_list(user=user, model=model)
        .filter(
            kind=ReportKind.MODEL_CARD,
            format=ReportFormat.PDF,
            status=ReportStatus.DONE,
            as_of=as_of,
        )
        .first()
    )


def card_preview_snapshot(*, model: RegisteredModel, as_of: dt.datetime | None) -> dict:
    """The snapshot the model card in the browser shows: built as ``model_snapshot`` does, and
    kept for ``MLGOV_CARD_PREVIEW_CACHE_SECONDS`` under the model's newest audit event.

    Every change the card shows is an audited change of the model, so any such change names a
    new key and the next reader gets a fresh snapshot. What is not audited per model (a
    person's display name, observations arriving in a multi-model file) is at most that many
    seconds behind, and the card states the time its snapshot was taken (``as_of``). Reports
    (the PDF card included) always build their own snapshot; this is for reading on screen,
    where the same card is opened again and again (review, print, back).
    """
    from apps.reports.snapshot import SCHEMA, model_snapshot

    seconds = settings.MLGOV_CARD_PREVIEW_CACHE_SECONDS
    if seconds <= 0:
        return model_snapshot(model=model, as_of=as_of)
    newest = (
        AuditEvent.objects.filter(model_ref=model.pk)
        .order_by("-sequence")
        .values_list("sequence", flat=True)
        .first()
    )
    moment = "now" if as_of is None else as_of.astimezone(dt.UTC).isoformat()
    key = f"mlgov:card-preview:{SCHEMA}:{model.pk}:{newest or 0}:{moment}"
    try:
        snapshot = cache.get(key)
    except RedisError:  # the cache is down: the card is built, as without one
        logger.warning("Card preview cache unavailable; building the snapshot", exc_info=True)
        return model_snapshot(model=model, as_of=as_of)
    if snapshot is None:
        snapshot = model_snapshot(model=model, as_of=as_of)
        try:
            cache.set(key, snapshot, seconds)
        except RedisError:
            logger.warning("Card preview cache unavailable; snapshot not kept", exc_info=True)
    return snapshot


def report_get(*, user, pk: int) -> Report:
    """The report, or 404 when it does not exist or is out of the user's reach."""
    report = report_list(user=user).filter(pk=pk).first()
    if report is None:
        raise Http404("No such report.")
    return report


def report_retryable(report: Report) -> bool:
    """A failed report (asked for again as a new one), or an unfinished one whose job
    stalled."""
    if report.status == ReportStatus.FAILED:
        return True
    return not report.is_final and job_stalled(task=REPORT_TASK, object_id=report.pk)
