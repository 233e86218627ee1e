"""Request middleware: request ids, client addresses, audit stamping and display time zone."""

from __future__ import annotations

import re

import pytest
from django.http import HttpResponse
from django.test import RequestFactory
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.core import context
from apps.core.middleware import RequestContextMiddleware, client_ip


def _run(request, view=None):
    seen = {}

    def get_response(req):
        seen["context"] = context.current()
        seen["zone"] = timezone.get_current_timezone_name()
        return (view or (lambda r: HttpResponse("ok")))(req)

    response = RequestContextMiddleware(get_response)(request)
    return response, seen


def test_a_valid_incoming_request_id_is_kept_and_echoed():
    request = RequestFactory().get("/", HTTP_X_REQUEST_ID="edge-proxy.42_a-b")
    response, seen = _run(request)
    assert response["X-Request-ID"] == "edge-proxy.42_a-b"
    assert request.request_id == "edge-proxy.42_a-b"
    assert seen["context"].request_id == "edge-proxy.42_a-b"


@pytest.mark.parametrize("incoming", [None, "", "has spaces", "x" * 65, "<script>", "a\nb"])
def test_a_missing_or_unsafe_request_id_is_replaced(incoming):
    headers = {} if incoming is None else {"HTTP_X_REQUEST_ID": incoming}
    response, seen = _run(RequestFactory().get("/", **headers))
    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])
    assert seen["context"].request_id == response["X-Request-ID"]


def test_the_context_is_unbound_after_the_request():
    _run(RequestFactory().get("/", REMOTE_ADDR="192.0.2.10"))
    assert context.current() == context.RequestContext()


def test_forwarded_for_is_ignored_unless_behind_a_declared_proxy(settings):
    request = RequestFactory().get(
        "/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.9, 198.51.100.7"
    )
    settings.SECURE_PROXY_SSL_HEADER = None
    assert client_ip(request) == "10.0.0.2"
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    assert client_ip(request) == "198.51.100.7"


def test_it_ignores_forwarded_for_entries_the_client_wrote(settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # The client sent "X-Forwarded-For: 192.0.2.1"; the proxy appended the real address.
    forged = RequestFactory().get(
        "/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="192.0.2.1, 198.51.100.7"
    )
    assert client_ip(forged) == "198.51.100.7"


def test_it_counts_the_declared_number_of_proxies(settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.MLGOV_TRUSTED_PROXY_COUNT = 2
    request = RequestFactory().get(
        "/", REMOTE_ADDR="10.0.0.3", HTTP_X_FORWARDED_FOR="192.0.2.1, 198.51.100.7, 10.0.0.2"
    )
    assert client_ip(request) == "198.51.100.7"
    short = RequestFactory().get("/", REMOTE_ADDR="10.0.0.3", HTTP_X_FORWARDED_FOR="10.0.0.2")
    assert client_ip(short) == "10.0.0.3"


def test_it_falls_back_to_the_socket_address_for_a_malformed_entry(settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    request = RequestFactory().get(
        "/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="198.51.100.7, not-an-address"
    )
    assert client_ip(request) == "10.0.0.2"


def test_it_shows_times_in_the_users_zone(validator):
    validator.timezone = "Europe/Berlin"
    request = RequestFactory().get("/")
    request.user = validator
    _response, seen = _run(request)
    assert seen["zone"] == "Europe/Berlin"
    assert timezone.get_current_timezone_name() == "UTC"


def test_request_id_and_client_address_land_on_audit_events(client, validator, owned_model):
    client.force_login(validator)
    response = client.patch(
        f"/api/v1/models/{owned_model.slug}/",
        {"purpose": "Changed through the API."},
        content_type="application/json",
        HTTP_X_REQUEST_ID="req-from-ci-7",
        REMOTE_ADDR="198.51.100.23",
    )
    assert response.status_code == 200, response.content
    assert response["X-Request-ID"] == "req-from-ci-7"
    event = AuditEvent.objects.get(action="update", object_id=str(owned_model.pk))
    assert (event.request_id, event.client_ip) == ("req-from-ci-7", "198.51.100.23")
    assert event.actor == validator


def test_every_response_carries_a_request_id(client, db):
    response = client.get("/accounts/login/")
    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])
