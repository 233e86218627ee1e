"""The daily periodic-review scan (see CELERY_BEAT_SCHEDULE)."""

from __future__ import annotations

import logging

from celery import shared_task

from apps.core import context
from apps.reviews.services import reviews_scan

logger = logging.getLogger(__name__)


@shared_task(name="reviews.scan_due")
def scan_due() -> dict[str, int]:
    """Send today's review reminders, escalations and overdue-finding notices.

    Idempotent: every step sent is logged with a unique key, so a second run the same day
    (or a redelivered task) sends nothing again.
    """
    with context.bind(request_id=f"task-reviews-scan-{context.new_request_id()}"):
        counts = reviews_scan()
    logger.info("Review scan sent %s", counts)
    return counts
