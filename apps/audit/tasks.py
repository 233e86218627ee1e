"""Background jobs of the audit trail."""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task

from apps.audit.selectors import audit_chain_verify
from apps.core import context

logger = logging.getLogger(__name__)


@shared_task(name="audit.verify_audit_chain")
def verify_audit_chain() -> dict[str, Any]:
    """Recompute the whole hash chain (nightly, see CELERY_BEAT_SCHEDULE) and log the outcome.

    Read-only, so running it twice is harmless. A broken chain is logged as an error for the
    alerting that watches the logs; the result dict is also kept in the result backend.
    """
    with context.bind(request_id=f"task-verify-audit-{context.new_request_id()}"):
        result = audit_chain_verify()
        if result.ok:
            logger.info("Audit chain OK: %s events, head %s", result.count, result.head_hash)
        else:
            logger.error(
                "Audit chain BROKEN at event sequence %s (id %s): %s. %s events checked.",
                result.broken_sequence,
                result.broken_id,
                result.reason,
                result.count,
            )
    return result.as_dict()
