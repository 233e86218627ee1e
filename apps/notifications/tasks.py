"""Webhook delivery in the background, with retries and exponential backoff."""

from __future__ import annotations

from celery import shared_task

from apps.notifications import services, webhooks
from apps.notifications.choices import DeliveryStatus
from apps.notifications.models import WebhookDelivery


@shared_task(name="notifications.deliver_webhook", bind=True, max_retries=webhooks.MAX_RETRIES)
def deliver_webhook(self, delivery_id: int) -> str:
    """POST one delivery; on a connection error or 5xx, retry later (30 s, 60 s, 120 s, ...).

    Idempotent: a delivery already delivered or given up on is not sent again. Each attempt
    is recorded on the delivery, whatever its outcome.
    """
    delivery = WebhookDelivery.objects.select_related("endpoint").filter(pk=delivery_id).first()
    if delivery is None or delivery.status in (DeliveryStatus.DELIVERED, DeliveryStatus.FAILED):
        return delivery.status if delivery else "missing"
    endpoint = delivery.endpoint
    outcome = webhooks.post(
        endpoint.url,
        delivery.body.encode("utf-8"),
        secret=endpoint.secret,
        event=delivery.event,
        delivery_id=delivery.pk,
        timeout=webhooks.TIMEOUT_SECONDS,
    )
    final = self.request.retries >= self.max_retries
    delivery = services.webhook_delivery_record_attempt(
        delivery=delivery, outcome=outcome, final=final
    )
    if delivery.status == DeliveryStatus.RETRYING:
        raise self.retry(countdown=webhooks.backoff_seconds(self.request.retries))
    return delivery.status
