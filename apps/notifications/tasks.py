"""Webhook delivery in the background, with retries and exponential backoff."""

from __future__ import annotations

from celery import shared_task

from apps.jobs.registry import register
from apps.jobs.services import RetryLater, job_run
from apps.notifications import services


@shared_task(name=services.DELIVER_TASK, bind=True, acks_late=True, reject_on_worker_lost=True)
def deliver_webhook(self, delivery_id: int) -> str | None:
    """POST one delivery under the job outbox's lease; on a connection error or 5xx it is
    sent again after a backoff (30 s, 60 s, 120 s, ...). Every attempt is recorded."""
    return job_run(
        self,
        delivery_id,
        lambda: _attempt(delivery_id),
        on_skip=lambda: services.webhook_delivery_status(delivery_id=delivery_id),
    )


def _attempt(delivery_id: int) -> str:
    status, retry_in = services.webhook_delivery_attempt(delivery_id=delivery_id)
    if retry_in is not None:
        raise RetryLater(
            retry_in, reason="The endpoint did not accept it; retrying.", result=status
        )
    return status


register(
    services.DELIVER_TASK,
    give_up=lambda delivery_id, error: services.webhook_delivery_give_up(
        delivery_id=delivery_id, error=error
    ),
    max_runs=services.DELIVERY_MAX_RUNS,
)
