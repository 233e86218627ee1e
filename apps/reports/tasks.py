"""The report job. Thin: it takes the report's id and calls the service under the job
outbox's lease (apps/jobs). The service is idempotent, so a job sent again after its worker
died, or a message delivered twice, stores one file."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings

from apps.core import context
from apps.jobs.registry import register
from apps.jobs.services import job_run
from apps.reports import services
from apps.reports.models import Report

logger = logging.getLogger(__name__)


@shared_task(
    name=services.REPORT_TASK,
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    time_limit=settings.MLGOV_REPORT_TIME_LIMIT + 30,
    soft_time_limit=settings.MLGOV_REPORT_TIME_LIMIT,
)
def generate_report(self, report_id: int) -> str | None:
    """Generate report ``report_id``; returns its final status."""
    with context.bind(request_id=f"task-report-{report_id}-{context.new_request_id()}"):
        report = job_run(
            self,
            report_id,
            lambda: services.report_generate(report_id=report_id),
            on_skip=lambda: Report.objects.filter(pk=report_id).first(),
        )
    if report is not None and report.status == "failed":
        logger.warning("Report %s failed: %s", report_id, report.error)
    return report.status if report is not None else None


register(
    services.REPORT_TASK,
    give_up=lambda report_id, error: services.report_fail(
        report_id=report_id, error=f"{error} Nothing was stored."
    ),
)
