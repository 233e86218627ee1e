"""Background jobs of the audit trail."""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task

from apps.audit import services
from apps.audit.checkpoints import BROKEN, CheckpointError
from apps.audit.models import ChainVerification
from apps.audit.services import audit_checkpoint_write
from apps.core import context
from apps.jobs.registry import register
from apps.jobs.services import job_run

logger = logging.getLogger(__name__)


@shared_task(
    name=services.VERIFY_TASK,
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
)
def run_chain_verification(self, verification_id: int) -> str | None:
    """Run verification ``verification_id`` (asked for from the page or the API) under the job
    outbox's lease; returns its final status. Read-only on the trail and idempotent: a message
    delivered twice finds the run done and leaves it."""
    with context.bind(request_id=f"task-verify-{verification_id}-{context.new_request_id()}"):
        run = job_run(
            self,
            verification_id,
            lambda: services.verification_execute(verification_id=verification_id)[0],
            on_skip=lambda: ChainVerification.objects.filter(pk=verification_id).first(),
        )
    if run is not None and run.status == ChainVerification.Status.DONE and not run.ok:
        logger.error(
            "Audit chain BROKEN (verification #%s): sequence %s: %s",
            run.pk,
            run.broken_sequence,
            run.reason,
        )
    return run.status if run is not None else None


register(
    services.VERIFY_TASK,
    give_up=lambda verification_id, error: services.verification_fail(
        verification_id=verification_id, error=error
    ),
)


@shared_task(name="audit.verify_audit_chain")
def verify_audit_chain() -> dict[str, Any]:
    """Recompute the whole hash chain and compare it with the signed checkpoints (nightly, see
    CELERY_BEAT_SCHEDULE), record the run (a full one: the base later incremental runs start
    from) and log the outcome.

    Read-only on the trail, so running it twice is harmless. A broken chain is logged as an
    error for the alerting that watches the logs, a chain that cannot be checked against a
    checkpoint as a warning; the result dict is also kept in the result backend.
    """
    with context.bind(request_id=f"task-verify-audit-{context.new_request_id()}"):
        _, result = services.verification_run(trigger=ChainVerification.Trigger.SCHEDULE, full=True)
        chain, finding = result.chain, result.checkpoint
        if not chain.ok:
            logger.error(
                "Audit chain BROKEN at event sequence %s (id %s): %s. %s events checked.",
                chain.broken_sequence,
                chain.broken_id,
                chain.reason,
                chain.count,
            )
        elif finding.state == BROKEN:
            logger.error("Audit chain BROKEN against its signed checkpoints: %s.", finding.reason)
        else:
            logger.info("Audit chain OK: %s events, head %s", chain.count, chain.head_hash)
            if not finding.ok:
                logger.warning("Audit chain NOT VERIFIED against a checkpoint: %s.", finding.reason)
        for warning in finding.warnings if finding else ():
            logger.warning("Audit checkpoint file: %s", warning)
    return result.as_dict()


@shared_task(name="audit.write_checkpoint")
def write_checkpoint() -> dict[str, Any]:
    """Sign the chain head into the checkpoint file (every MLGOV_AUDIT_CHECKPOINT_MINUTES).

    Running it twice writes two lines stating the same head, which is harmless. A chain that
    no longer holds the last checkpoint is not signed: that is logged as an error.
    """
    with context.bind(request_id=f"task-audit-checkpoint-{context.new_request_id()}"):
        try:
            checkpoint = audit_checkpoint_write(reason="schedule")
        except CheckpointError as exc:
            logger.error("Audit checkpoint NOT written: %s", exc)
            return {"ok": False, "error": str(exc)}
    return {"ok": True, "checkpoint": checkpoint.record()}
