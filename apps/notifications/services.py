"""Sending notifications (in-app, e-mail, webhooks) and managing webhook endpoints.

``notify`` is what other apps call. In-app notifications are written in the caller's
transaction; e-mail and webhook requests leave the process only after it commits, so a
rolled-back change never tells anyone anything.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.mail import send_mass_mail
from django.db import transaction

from apps.audit.chain import normalise
from apps.audit.models import AuditEvent
from apps.audit.services import audit_record, audited_update
from apps.core import clock, egress
from apps.core.errors import ApplicationError
from apps.core.services import require_perm, validate_instance
from apps.jobs.services import job_enqueue
from apps.notifications import webhooks
from apps.notifications.choices import DeliveryStatus, Event
from apps.notifications.models import Notification, WebhookDelivery, WebhookEndpoint

logger = logging.getLogger(__name__)

SUBJECT_PREFIX = "[mlgov] "
DELIVER_TASK = "notifications.deliver_webhook"
#: Attempts recorded on the delivery, plus room for a worker dying twice mid-attempt.
DELIVERY_MAX_RUNS = webhooks.MAX_RETRIES + 3


def _absolute(link: str) -> str:
    base = getattr(settings, "MLGOV_BASE_URL", "").rstrip("/")
    return f"{base}{link}" if link.startswith("/") and base else link


def _send_mail(messages: list[tuple[str, str, str, list[str]]]) -> None:
    try:
        send_mass_mail(messages, fail_silently=False)
    except Exception:  # a mail outage must not break the change that was already committed
        logger.exception("Sending %s notification e-mail(s) failed", len(messages))


@transaction.atomic
def notify(
    *,
    recipients: Iterable,
    event: str,
    subject_text: str,
    link: str = "",
    payload: dict[str, Any] | None = None,
) -> list[Notification]:
    """Tell ``recipients`` (users; duplicates and inactive users dropped) that ``event`` happened.

    Writes one in-app notification each, e-mails those with an address after commit, and
    queues one webhook delivery per active endpoint subscribed to ``event``. A recipient who
    has an unread notification of the same event about the same thing (its ``link``, else its
    text) gets that one raised instead (count, newest time and text), not a second item.

    Not audited itself: the governance change that caused it (a request, a decision, a
    reminder logged by the review scan) is, and notifications are that change's echo.
    """
    if event not in Event.values:
        raise ValueError(f"Unknown notification event {event!r}")
    payload = normalise(payload or {})
    users = {u.pk: u for u in recipients if u is not None and u.is_active}
    text = subject_text[:500]
    now = clock.now()
    created = _repeat_unread(users=users, event=event, text=text, link=link, payload=payload)
    raised = {n.recipient_id for n in created}
    created += Notification.objects.bulk_create(
        Notification(recipient=u, event=event, text=text, link=link, payload=payload, latest_at=now)
        for pk, u in users.items()
        if pk not in raised
    )
    body = f"{subject_text}\n\n{_absolute(link)}\n" if link else f"{subject_text}\n"
    mails = [
        (SUBJECT_PREFIX + text[:150], body, settings.DEFAULT_FROM_EMAIL, [u.email])
        for u in users.values()
        if u.email
    ]
    if mails:
        transaction.on_commit(lambda: _send_mail(mails))
    webhook_deliveries_queue(event=event, payload={**payload, "text": subject_text, "link": link})
    return created


def _repeat_unread(
    *, users: dict, event: str, text: str, link: str, payload: dict[str, Any]
) -> list[Notification]:
    """Raise the recipients' unread notifications of ``event`` about the same thing (locked,
    so two notifies at once count twice rather than writing two rows). One query to find
    them (the ``(recipient, read_at)`` index) and one to write them."""
    same = {"link": link} if link else {"link": "", "text": text}
    repeats = list(
        Notification.objects.select_for_update()
        .filter(recipient__in=list(users), read_at__isnull=True, event=event, **same)
        .order_by("recipient_id", "-latest_at", "-pk")
    )
    seen: dict[int, Notification] = {}
    for notification in repeats:
        seen.setdefault(notification.recipient_id, notification)
    now = clock.now()
    for notification in seen.values():
        notification.count += 1
        notification.latest_at = now
        notification.text = text
        notification.payload = payload
    if seen:
        Notification.objects.bulk_update(seen.values(), ["count", "latest_at", "text", "payload"])
    return list(seen.values())


def webhook_deliveries_queue(*, event: str, payload: dict[str, Any]) -> list[WebhookDelivery]:
    """One delivery per active endpoint subscribed to ``event``, sent by a task after commit."""
    deliveries = []
    for endpoint in WebhookEndpoint.objects.filter(active=True):
        if not endpoint.subscribes_to(event):
            continue
        delivery = WebhookDelivery.objects.create(endpoint=endpoint, event=event, payload=payload)
        delivery.body = webhooks.encode_body(event, payload, delivery_id=delivery.pk).decode()
        delivery.save(update_fields=["body"])
        deliveries.append(delivery)
        job_enqueue(task=DELIVER_TASK, object_id=delivery.pk)
    return deliveries


def webhook_delivery_attempt(*, delivery_id: int) -> tuple[str, int | None]:
    """POST one delivery and record the attempt, whatever its outcome. Returns its status and,
    when it is to be tried again (a connection error or a 5xx), the seconds to wait first
    (30 s, 60 s, 120 s, ...). Idempotent: a delivery already delivered or given up on is not
    sent again."""
    delivery = WebhookDelivery.objects.select_related("endpoint").filter(pk=delivery_id).first()
    if delivery is None or delivery.status in (DeliveryStatus.DELIVERED, DeliveryStatus.FAILED):
        return (delivery.status if delivery else "missing"), None
    endpoint = delivery.endpoint
    outcome = webhooks.post(
        endpoint.url,
        delivery.body.encode("utf-8"),
        secret=endpoint.secret,
        event=delivery.event,
        delivery_id=delivery.pk,
        timeout=webhooks.TIMEOUT_SECONDS,
    )
    retries_done = delivery.attempts
    delivery = webhook_delivery_record_attempt(
        delivery=delivery, outcome=outcome, final=retries_done >= webhooks.MAX_RETRIES
    )
    if delivery.status == DeliveryStatus.RETRYING:
        return delivery.status, webhooks.backoff_seconds(retries_done)
    return delivery.status, None


def webhook_delivery_status(*, delivery_id: int) -> str:
    delivery = WebhookDelivery.objects.filter(pk=delivery_id).only("status").first()
    return delivery.status if delivery else "missing"


def webhook_delivery_give_up(*, delivery_id: int, error: str) -> None:
    """Mark a delivery failed when its job was given up on (its worker kept dying)."""
    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_for_update().filter(pk=delivery_id).first()
        if delivery is None or delivery.status in (
            DeliveryStatus.DELIVERED,
            DeliveryStatus.FAILED,
        ):
            return
        delivery.status = DeliveryStatus.FAILED
        delivery.last_error = error[:2000]
        delivery.save(update_fields=["status", "last_error"])


def webhook_delivery_record_attempt(
    *, delivery: WebhookDelivery, outcome: webhooks.Outcome, final: bool
) -> WebhookDelivery:
    """Record one attempt. ``final``: no retry follows, so an undelivered one has failed."""
    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_for_update(of=("self",)).get(pk=delivery.pk)
        now = clock.now()
        delivery.attempts += 1
        delivery.last_attempt_at = now
        delivery.response_code = outcome.status
        delivery.last_error = outcome.error
        delivery.attempt_log = [
            *delivery.attempt_log,
            {"at": now.isoformat(), "status": outcome.status, "error": outcome.error},
        ]
        if outcome.delivered:
            delivery.status = DeliveryStatus.DELIVERED
            delivery.delivered_at = now
        elif final or not outcome.retryable:
            delivery.status = DeliveryStatus.FAILED
        else:
            delivery.status = DeliveryStatus.RETRYING
        delivery.save()
    return delivery


# --- the user's own list -----------------------------------------------------------------
# Reading one's notifications changes nothing anyone governs, so it is not audited.


def notification_mark_read(*, actor, notification: Notification) -> Notification:
    if notification.recipient_id != actor.pk:
        raise ApplicationError("This notification is not yours.")
    if notification.read_at is None:
        notification.read_at = clock.now()
        notification.save(update_fields=["read_at"])
    return notification


def notification_mark_all_read(*, actor) -> int:
    marked = Notification.objects.filter(recipient=actor, read_at__isnull=True).update(
        read_at=clock.now()
    )
    return marked


def notifications_settle(*, event: str, link: str, recipients: list[int] | None = None) -> int:
    """Mark read the unread notifications of ``event`` about ``link`` (of ``recipients``
    only, when given): what they asked for has been done (an approval request decided), so
    nobody they went to has anything left to do on them."""
    unread = Notification.objects.filter(event=event, link=link, read_at__isnull=True)
    if recipients is not None:
        unread = unread.filter(recipient_id__in=recipients)
    else:
        recipients = list(unread.values_list("recipient_id", flat=True).distinct())
    if not recipients:
        return 0
    marked = unread.update(read_at=clock.now())
    return marked


# --- webhook endpoints (administrators) ------------------------------------------------

ENDPOINT_FIELDS = ("name", "url", "secret", "events", "active")


def _endpoint_snapshot(endpoint: WebhookEndpoint, *, secret: str | None = None) -> dict[str, Any]:
    """The audited view of an endpoint. The secret itself never goes into the audit trail;
    that it changed (from ``secret``, the one it had) does."""
    if secret is not None and endpoint.secret != secret:
        shown = "(changed)"
    else:
        shown = "(set)" if endpoint.secret else ""
    return {
        "name": endpoint.name,
        "url": endpoint.url,
        "events": sorted(endpoint.events or []),
        "active": endpoint.active,
        "secret": shown,
    }


def _check_events(events) -> None:
    unknown = sorted(set(events or []) - set(Event.values))
    if unknown or not isinstance(events, list | tuple):
        message = f"Unknown events: {', '.join(map(str, unknown))}." if unknown else ""
        raise ApplicationError(
            message or "Give a list of event names.",
            field_errors={"events": [message or "Give a list of event names."]},
        )


@transaction.atomic
def webhook_endpoint_create(*, actor, **data: Any) -> WebhookEndpoint:
    require_perm(actor, "notifications.add_webhookendpoint")
    data = {k: v for k, v in data.items() if k in ENDPOINT_FIELDS}
    _check_events(data.get("events", []))
    endpoint = WebhookEndpoint(created_by=actor, **data)
    validate_instance(endpoint, exclude=["created_by"])
    egress.check_field("url", endpoint.url)
    endpoint.save()
    snapshot = _endpoint_snapshot(endpoint)
    audit_record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        obj=endpoint,
        changes={k: {"before": None, "after": v} for k, v in snapshot.items()},
    )
    return endpoint


def _check_endpoint(before: dict[str, Any], endpoint: WebhookEndpoint) -> None:
    """Known events, valid fields, and a new URL the egress guard accepts."""
    _check_events(endpoint.events)
    validate_instance(endpoint)
    if endpoint.url != before["url"]:
        egress.check_field("url", endpoint.url)


@transaction.atomic
def webhook_endpoint_update(*, actor, endpoint: WebhookEndpoint, **data: Any) -> WebhookEndpoint:
    require_perm(actor, "notifications.change_webhookendpoint", endpoint)
    endpoint = WebhookEndpoint.objects.select_for_update(of=("self",)).get(pk=endpoint.pk)
    secret = endpoint.secret
    endpoint, _ = audited_update(
        endpoint,
        actor=actor,
        data={name: value for name, value in data.items() if name in ENDPOINT_FIELDS},
        fields=lambda endpoint: _endpoint_snapshot(endpoint, secret=secret),
        check=_check_endpoint,
        validate=False,
        lock=False,
    )
    return endpoint


@transaction.atomic
def webhook_endpoint_delete(*, actor, endpoint: WebhookEndpoint) -> None:
    require_perm(actor, "notifications.delete_webhookendpoint", endpoint)
    audit_record(
        actor=actor,
        action=AuditEvent.Action.DELETE,
        obj=endpoint,
        changes={k: {"before": v, "after": None} for k, v in _endpoint_snapshot(endpoint).items()},
    )
    endpoint.delete()
