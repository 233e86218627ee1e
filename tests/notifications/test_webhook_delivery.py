"""Webhook deliveries: signed JSON POSTs, retried with backoff on 5xx, every attempt recorded."""

import datetime
import json

import pytest
from django.utils import timezone

from apps.jobs.services import jobs_dispatch_due
from apps.notifications import signing, webhooks
from apps.notifications.choices import DeliveryStatus, Event
from apps.notifications.models import WebhookDelivery, WebhookEndpoint
from apps.notifications.services import notify
from apps.notifications.tasks import deliver_webhook
from tests.notifications.fake_endpoint import fake_endpoint

pytestmark = pytest.mark.django_db


@pytest.fixture
def no_wait(monkeypatch):
    """Record the countdowns deliveries ask for; ``drain()`` then runs each retry as the
    dispatcher would once it is due, without waiting it out."""
    asked = []
    original = webhooks.backoff_seconds

    def spy(n):
        asked.append(original(n))
        return original(n)

    monkeypatch.setattr(webhooks, "backoff_seconds", spy)
    return asked


def drain() -> None:
    later = timezone.now()
    for _ in range(2 * webhooks.MAX_RETRIES):
        later += datetime.timedelta(hours=2)
        if not jobs_dispatch_due(now=later):
            return


def _endpoint(url, admin_user, events=(Event.REVIEW_DUE,)):
    return WebhookEndpoint.objects.create(
        name="Risk bus", url=url, secret="top-secret", events=list(events), created_by=admin_user
    )


def test_it_posts_signed_json_and_records_the_delivery(
    admin_user, validator, django_capture_on_commit_callbacks
):
    with fake_endpoint([200]) as (url, received):
        _endpoint(url, admin_user)
        with django_capture_on_commit_callbacks(execute=True):
            notify(
                recipients=[validator],
                event=Event.REVIEW_DUE,
                subject_text="Review due",
                link="/x/",
                payload={"model": "m"},
            )
    assert len(received) == 1
    request = received[0]
    assert request["headers"]["X-Mlgov-Event"] == "review.due"
    assert signing.verify(request["body"], "top-secret", request["headers"]["X-Mlgov-Signature"])
    document = json.loads(request["body"])
    assert document["event"] == "review.due"
    assert document["data"]["model"] == "m"
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.DELIVERED
    assert delivery.attempts == 1 and delivery.response_code == 200
    assert delivery.delivered_at is not None


def test_it_retries_after_a_server_error_with_backoff_then_delivers(admin_user, no_wait):
    with fake_endpoint([500, 200]) as (url, received):
        endpoint = _endpoint(url, admin_user)
        delivery = WebhookDelivery.objects.create(endpoint=endpoint, event=Event.REVIEW_DUE)
        delivery.body = webhooks.encode_body("review.due", {}, delivery_id=delivery.pk).decode()
        delivery.save()
        deliver_webhook.delay(delivery.pk)
        drain()
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED
    assert delivery.attempts == 2
    assert [a["status"] for a in delivery.attempt_log] == [500, 200]
    assert no_wait == [30]
    # Every attempt sends the same, identically signed bytes.
    assert received[0]["body"] == received[1]["body"]
    assert (
        received[0]["headers"]["X-Mlgov-Signature"] == received[1]["headers"]["X-Mlgov-Signature"]
    )


def test_it_gives_up_after_five_retries_and_records_each_attempt(admin_user, no_wait):
    with fake_endpoint([503]) as (url, received):
        endpoint = _endpoint(url, admin_user)
        delivery = WebhookDelivery.objects.create(endpoint=endpoint, event=Event.REVIEW_DUE)
        deliver_webhook.delay(delivery.pk)
        drain()
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.attempts == 1 + webhooks.MAX_RETRIES == len(received)
    assert no_wait == [30, 60, 120, 240, 480]
    assert delivery.response_code == 503 and "503" in delivery.last_error


def test_a_client_error_is_not_retried(admin_user, no_wait):
    with fake_endpoint([404]) as (url, received):
        delivery = WebhookDelivery.objects.create(
            endpoint=_endpoint(url, admin_user), event=Event.REVIEW_DUE
        )
        deliver_webhook.delay(delivery.pk)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, len(received)) == (DeliveryStatus.FAILED, 1, 1)
    assert no_wait == []


def test_a_connection_error_is_retried(admin_user, no_wait, settings):
    # Nothing listens on this port once the server is closed (the operator still allows it).
    with fake_endpoint([200]) as (url, _):
        allowed = list(settings.MLGOV_EGRESS_ALLOW)
    settings.MLGOV_EGRESS_ALLOW = allowed
    delivery = WebhookDelivery.objects.create(
        endpoint=_endpoint(url, admin_user), event=Event.REVIEW_DUE
    )
    deliver_webhook.delay(delivery.pk)
    drain()
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.attempts == 6 and delivery.response_code is None
    assert delivery.last_error


def test_a_delivered_delivery_is_not_sent_again(admin_user):
    with fake_endpoint([200]) as (url, received):
        delivery = WebhookDelivery.objects.create(
            endpoint=_endpoint(url, admin_user), event=Event.REVIEW_DUE
        )
        deliver_webhook.delay(delivery.pk)
        deliver_webhook.delay(delivery.pk)
    assert len(received) == 1


def test_only_active_endpoints_subscribed_to_the_event_get_a_delivery(admin_user, validator):
    _endpoint("http://127.0.0.1:9/a", admin_user, events=[Event.REVIEW_OVERDUE])
    inactive = _endpoint("http://127.0.0.1:9/b", admin_user)
    inactive.active = False
    inactive.save()
    subscribed = _endpoint("http://127.0.0.1:9/c", admin_user)
    notify(recipients=[validator], event=Event.REVIEW_DUE, subject_text="x")
    assert list(WebhookDelivery.objects.values_list("endpoint", flat=True)) == [subscribed.pk]
