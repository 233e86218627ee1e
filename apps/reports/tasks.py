"""The report job. Thin: it takes the report's id and calls the service, which is idempotent,
so a redelivered job (late acknowledgement after a lost worker) or a retry stores one file."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError

from apps.core import context
from apps.reports import services

logger = logging.getLogger(__name__)

TRANSIENT = (OperationalError, InterfaceError)
MAX_RETRIES = 5


@shared_task(
    name="reports.generate_report",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=TRANSIENT,
    retry_backoff=True,
    max_retries=MAX_RETRIES,
    time_limit=settings.MLGOV_REPORT_TIME_LIMIT + 30,
    soft_time_limit=settings.MLGOV_REPORT_TIME_LIMIT,
)
def generate_report(self, report_id: int) -> str | None:
    """Generate report ``report_id``; returns its final status."""
    with context.bind(request_id=f"task-report-{report_id}-{context.new_request_id()}"):
        try:
            report = services.report_generate(report_id=report_id)
        except TRANSIENT as exc:
            if self.request.retries >= MAX_RETRIES:
                services.report_fail(
                    report_id=report_id,
                    error=f"The database was unavailable; nothing was stored ({exc}).",
                )
            raise
    if report is not None and report.status == "failed":
        logger.warning("Report %s failed: %s", report_id, report.error)
    return report.status if report is not None else None
