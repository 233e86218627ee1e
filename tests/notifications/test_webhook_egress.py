"""Webhook endpoints go through the egress guard: checked when saved, checked again when sent.

The listeners are real HTTP servers on 127.0.0.1; a default install must never reach them.
"""

from __future__ import annotations

import pytest

from apps.core.errors import ApplicationError
from apps.notifications import services, signing
from apps.notifications.choices import DeliveryStatus, Event
from apps.notifications.models import WebhookDelivery, WebhookEndpoint
from apps.notifications.services import notify
from tests.listeners import FakeDNS, listener, redirect, reply

pytestmark = pytest.mark.django_db

PUBLIC = "93.184.215.14"


@pytest.fixture(autouse=True)
def _default_install(settings):
    settings.MLGOV_EGRESS_ALLOW = []
    settings.MLGOV_EGRESS_PORTS = [80, 443]


@pytest.fixture
def no_retry_wait(monkeypatch):
    """Count the retries a delivery asks for instead of running them at once."""
    from apps.notifications import webhooks
    from mlgov.celery import app

    previous = app.conf.task_eager_propagates
    app.conf.task_eager_propagates = False
    asked = []
    monkeypatch.setattr(webhooks, "backoff_seconds", lambda n: asked.append(n) or 0)
    yield asked
    app.conf.task_eager_propagates = previous


def _legacy_endpoint(url, admin_user):
    """An endpoint stored before the guard existed (written without the service's check)."""
    return WebhookEndpoint.objects.create(
        name="Legacy", url=url, secret="s3cret", events=[Event.REVIEW_DUE], created_by=admin_user
    )


def _notify(validator, capture):
    with capture(execute=True):
        notify(recipients=[validator], event=Event.REVIEW_DUE, subject_text="Review due")


# --- at save time -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1:6379/", "127.0.0.1, a loopback address"),
        ("http://localhost/hook", "localhost resolves to 127.0.0.1, a loopback address"),
        ("http://[::1]/hook", "::1, a loopback address"),
        ("http://169.254.169.254/latest/meta-data/", "the cloud metadata service"),
        ("http://2130706433/", "Enter a valid URL"),  # the model's URL check comes first
        ("http://10.0.0.5/hook", "a private (RFC 1918) address"),
        ("https://hooks.example.com:8080/", "Port 8080 is not allowed"),
    ],
)
def test_the_service_refuses_a_non_public_url_on_the_url_field(
    admin_user, monkeypatch, url, reason
):
    FakeDNS(monkeypatch, {"hooks.example.com": [[PUBLIC]]})
    with pytest.raises(ApplicationError) as caught:
        services.webhook_endpoint_create(
            actor=admin_user, name="x", url=url, secret="s", events=[Event.REVIEW_DUE]
        )
    assert reason in caught.value.message
    assert reason in caught.value.field_errors["url"][0]
    assert not WebhookEndpoint.objects.exists()


def test_a_host_that_does_not_resolve_is_refused_naming_it(admin_user, monkeypatch):
    FakeDNS(monkeypatch, {"typo.example.com": [[]]})
    with pytest.raises(ApplicationError, match=r"typo\.example\.com does not resolve"):
        services.webhook_endpoint_create(
            actor=admin_user,
            name="x",
            url="https://typo.example.com/",
            secret="s",
            events=["review.due"],
        )


def test_changing_the_url_is_checked_but_other_changes_are_not_blocked(
    admin_user, monkeypatch, settings
):
    FakeDNS(monkeypatch, {"hooks.example.com": [[PUBLIC]]})
    endpoint = services.webhook_endpoint_create(
        actor=admin_user,
        name="Bus",
        url="https://hooks.example.com/in",
        secret="s",
        events=["review.due"],
    )
    with pytest.raises(ApplicationError, match="the cloud metadata service"):
        services.webhook_endpoint_update(
            actor=admin_user, endpoint=endpoint, url="http://169.254.169.254/"
        )
    endpoint.refresh_from_db()
    assert endpoint.url == "https://hooks.example.com/in"
    FakeDNS(monkeypatch, {"hooks.example.com": [[]]})  # its DNS is down for a moment
    services.webhook_endpoint_update(actor=admin_user, endpoint=endpoint, active=False)
    settings.MLGOV_EGRESS_ALLOW = ["10.2.0.0/16"]
    services.webhook_endpoint_update(
        actor=admin_user, endpoint=endpoint, url="http://10.2.0.9/hook"
    )


def test_the_admin_shows_the_refusal_on_the_url_field(client, admin_user):
    client.force_login(admin_user)
    response = client.post(
        "/admin/notifications/webhookendpoint/add/",
        {
            "name": "Metadata",
            "url": "http://169.254.169.254/latest/meta-data/",
            "secret": "s",
            "events": [Event.REVIEW_DUE],
            "active": "on",
        },
    )
    assert response.status_code == 200
    assert "the cloud metadata service" in str(response.context["adminform"].form.errors["url"])
    assert not WebhookEndpoint.objects.exists()


# --- at delivery time, with real listeners ----------------------------------------------------


def test_a_default_install_never_posts_to_a_loopback_endpoint(
    admin_user, validator, django_capture_on_commit_callbacks, no_retry_wait
):
    with listener() as server:
        for host in ("127.0.0.1", "localhost"):
            _legacy_endpoint(server.url("/hook", host=host), admin_user)
        _notify(validator, django_capture_on_commit_callbacks)
    assert server.requests == []
    deliveries = list(WebhookDelivery.objects.all())
    assert len(deliveries) == 2
    for delivery in deliveries:
        assert (delivery.status, delivery.attempts, delivery.response_code) == (
            DeliveryStatus.FAILED,
            1,
            None,
        )
        assert "a loopback address" in delivery.last_error
    assert no_retry_wait == []  # a refusal is final: retrying would be refused the same way


def test_an_allow_listed_endpoint_receives_the_signed_body(
    admin_user, validator, settings, django_capture_on_commit_callbacks
):
    with listener(reply(204)) as server:
        settings.MLGOV_EGRESS_ALLOW = [server.allow_entry]
        services.webhook_endpoint_create(
            actor=admin_user,
            name="Internal bus",
            url=server.url("/hook"),
            secret="s3cret",
            events=[Event.REVIEW_DUE],
        )
        _notify(validator, django_capture_on_commit_callbacks)
    [seen] = server.requests
    assert seen.method == "POST" and seen.path == "/hook"
    assert signing.verify(seen.body, "s3cret", seen.headers["X-Mlgov-Signature"])
    delivery = WebhookDelivery.objects.get()
    assert seen.body == delivery.body.encode()
    assert (delivery.status, delivery.response_code) == (DeliveryStatus.DELIVERED, 204)


@pytest.mark.parametrize("status", [302, 307])
def test_a_redirect_is_recorded_as_failed_and_not_followed(
    admin_user, validator, settings, django_capture_on_commit_callbacks, no_retry_wait, status
):
    with listener() as target, listener(redirect(target.url("/steal"), status)) as allowed:
        settings.MLGOV_EGRESS_ALLOW = [allowed.allow_entry]
        _legacy_endpoint(allowed.url("/hook"), admin_user)
        _notify(validator, django_capture_on_commit_callbacks)
    assert [r.method for r in allowed.requests] == ["POST"]
    assert target.requests == []
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.FAILED and delivery.delivered_at is None
    assert delivery.response_code == status and delivery.attempts == 1
    assert "redirects are not followed" in delivery.last_error
    assert no_retry_wait == []


def test_a_name_that_rebinds_to_loopback_after_saving_is_refused_at_delivery(
    admin_user, validator, settings, monkeypatch, django_capture_on_commit_callbacks
):
    with listener() as server:
        settings.MLGOV_EGRESS_PORTS = [80, 443, server.port]
        FakeDNS(monkeypatch, {"hooks.example.com": [[PUBLIC], ["127.0.0.1"]]})
        services.webhook_endpoint_create(
            actor=admin_user,
            name="Rebinding",
            url=f"http://hooks.example.com:{server.port}/hook",
            secret="s",
            events=[Event.REVIEW_DUE],
        )
        _notify(validator, django_capture_on_commit_callbacks)
    assert server.requests == []
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.FAILED
    assert "hooks.example.com resolves to 127.0.0.1, a loopback address" in delivery.last_error


def test_an_oversized_answer_is_not_a_delivery(
    admin_user, validator, settings, django_capture_on_commit_callbacks
):
    with listener(reply(200, b"x" * (64 * 1024 + 1))) as server:
        settings.MLGOV_EGRESS_ALLOW = [server.allow_entry]
        _legacy_endpoint(server.url("/hook"), admin_user)
        _notify(validator, django_capture_on_commit_callbacks)
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.FAILED and delivery.response_code == 200
    assert "larger than the limit of 65536 bytes" in delivery.last_error


def test_opening_an_incident_posts_nothing_to_internal_endpoints(
    admin_user, model_owner, owned_model, django_capture_on_commit_callbacks
):
    # The security review's finding: opening an incident POSTed to loopback endpoints at once.
    from apps.incidents.services import incident_create

    with listener() as server:
        for url in (
            server.url("/hook"),
            server.url("/hook", host="localhost"),
            f"http://[::1]:{server.port}/hook",
            "http://169.254.169.254/latest/meta-data/",
        ):
            WebhookEndpoint.objects.create(
                name=url, url=url, secret="s", events=[Event.INCIDENT_OPENED], created_by=admin_user
            )
        with django_capture_on_commit_callbacks(execute=True):
            incident_create(actor=model_owner, model=owned_model, title="Flat", severity="sev3")
    assert server.requests == []
    assert sorted(WebhookDelivery.objects.values_list("status", flat=True)) == ["failed"] * 4
