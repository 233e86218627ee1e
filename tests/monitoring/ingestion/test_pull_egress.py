"""Scheduled pulls go through the egress guard as well as the pull-host allow-list.

The metric servers are real HTTPS listeners on 127.0.0.1 with a self-signed certificate that
the tests trust through ``MLGOV_EGRESS_CA_FILE``; a default install must never reach them.
"""

from __future__ import annotations

import time

import pytest

from apps.core.errors import ApplicationError
from apps.monitoring.choices import BatchStatus
from apps.monitoring.ingestion import services, tasks
from apps.monitoring.models import AllowedPullHost, IngestionBatch, MetricSource, Observation
from tests.listeners import FakeDNS, drip, listener, redirect, reply, self_signed

pytestmark = pytest.mark.django_db

PUBLIC = "93.184.215.14"
ROWS = (
    b'{"rows": [{"model": "owned-model", "version": "1.0.0", "metric": "auc", '
    b'"value": 0.8, "timestamp": "2025-01-01T00:00:00Z"}]}'
)


@pytest.fixture(autouse=True)
def _default_install(settings):
    settings.MLGOV_EGRESS_ALLOW = []
    settings.MLGOV_EGRESS_PORTS = [80, 443]
    settings.MLGOV_EGRESS_CA_FILE = ""


@pytest.fixture
def cert(tmp_path):
    return self_signed(tmp_path, "metrics.internal", "localhost", "127.0.0.1")


@pytest.fixture
def internal_dns(monkeypatch):
    return FakeDNS(monkeypatch, {"metrics.internal": [["127.0.0.1"]]})


def _legacy_source(admin_user, owned_model, url, host):
    """A host and source stored before the guard existed (written without its checks)."""
    AllowedPullHost.objects.get_or_create(hostname=host, defaults={"created_by": admin_user})
    return MetricSource.objects.create(model=owned_model, url=url, created_by=admin_user)


def _pull(source):
    tasks.pull_source.delay(source.pk).get()
    source.refresh_from_db()
    return source


# --- at save time -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hostname", "reason"),
    [
        ("127.0.0.1", "127.0.0.1, a loopback address"),
        ("localhost", "localhost resolves to 127.0.0.1, a loopback address"),
        ("0.0.0.0", "the unspecified address"),  # noqa: S104 (a host name here, not a binding)
        ("169.254.169.254", "the cloud metadata service"),
        ("metadata.google.internal", "resolves to 169.254.169.254, the cloud metadata service"),
        ("2130706433", "not a canonical IP address (it means 127.0.0.1)"),
        ("0x7f.1", "not a canonical IP address (it means 127.0.0.1)"),
        ("10.1.2.3", "a private (RFC 1918) address"),
    ],
)
def test_the_pull_host_allow_list_refuses_non_public_hosts(
    admin_user, monkeypatch, hostname, reason
):
    FakeDNS(monkeypatch, {"metadata.google.internal": [["169.254.169.254"]]})
    with pytest.raises(ApplicationError) as caught:
        services.allowed_pull_host_create(actor=admin_user, hostname=hostname)
    assert reason in caught.value.field_errors["hostname"][0]
    assert not AllowedPullHost.objects.exists()


def test_an_internal_pull_host_needs_the_operator_first(admin_user, settings, internal_dns):
    with pytest.raises(ApplicationError, match=r"MLGOV_EGRESS_ALLOW=metrics\.internal"):
        services.allowed_pull_host_create(actor=admin_user, hostname="metrics.internal")
    settings.MLGOV_EGRESS_ALLOW = ["metrics.internal:8443"]
    services.allowed_pull_host_create(actor=admin_user, hostname="Metrics.Internal")
    assert AllowedPullHost.objects.get().hostname == "metrics.internal"


def test_a_source_on_an_allowed_host_must_pass_the_guard_too(
    admin_user, owned_model, settings, internal_dns
):
    # The allow-list row was stored before the guard; the address and the port still count.
    AllowedPullHost.objects.create(hostname="127.0.0.1", created_by=admin_user)
    with pytest.raises(ApplicationError) as caught:
        services.metric_source_create(
            actor=admin_user, model=owned_model, url="https://127.0.0.1:6379/"
        )
    assert "127.0.0.1, a loopback address" in caught.value.field_errors["url"][0]
    settings.MLGOV_EGRESS_ALLOW = ["127.0.0.1"]
    with pytest.raises(ApplicationError, match="on the allowed ports only, not on port 6379"):
        services.metric_source_create(
            actor=admin_user, model=owned_model, url="https://127.0.0.1:6379/"
        )
    assert not MetricSource.objects.exists()


def test_the_admin_shows_the_refusal_on_the_field(client, admin_user, owned_model):
    client.force_login(admin_user)
    response = client.post(
        "/admin/monitoring/allowedpullhost/add/", {"hostname": "169.254.169.254", "note": ""}
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "the cloud metadata service" in str(errors["hostname"])
    AllowedPullHost.objects.create(hostname="localhost", created_by=admin_user)
    response = client.post(
        "/admin/monitoring/metricsource/add/",
        {
            "model": owned_model.pk,
            "url": "https://localhost:6379/",
            "format": "json",
            "interval_minutes": 60,
        },
    )
    assert "a loopback address" in str(response.context["adminform"].form.errors["url"])
    assert not MetricSource.objects.exists()


# --- at pull time, with real listeners --------------------------------------------------------


def test_a_default_install_never_pulls_from_a_loopback_listener(
    admin_user, owned_model, auc, versions, cert, settings
):
    settings.MLGOV_EGRESS_CA_FILE = cert.cert_file  # its certificate is trusted: only the
    with listener(reply(200, ROWS), cert=cert) as server:  # address keeps the pull out
        sources = [
            _legacy_source(admin_user, owned_model, server.url("/m.json", host=host), host)
            for host in ("127.0.0.1", "localhost")
        ]
        for source in sources:
            assert "a loopback address" in _pull(source).last_error
    assert server.requests == []
    assert not IngestionBatch.objects.exists()


def test_an_allow_listed_https_source_is_pulled_into_a_batch(
    admin_user,
    owned_model,
    auc,
    versions,
    cert,
    settings,
    internal_dns,
    django_capture_on_commit_callbacks,
):
    with listener(reply(200, ROWS, {"Content-Type": "application/json"}), cert=cert) as server:
        settings.MLGOV_EGRESS_ALLOW = [f"metrics.internal:{server.port}"]
        settings.MLGOV_EGRESS_CA_FILE = cert.cert_file
        services.allowed_pull_host_create(actor=admin_user, hostname="metrics.internal")
        source = services.metric_source_create(
            actor=admin_user,
            model=owned_model,
            url=f"https://metrics.internal:{server.port}/owned-model.json",
        )
        with django_capture_on_commit_callbacks(execute=True):
            tasks.pull_source.delay(source.pk).get()
    [seen] = server.requests
    assert (seen.method, seen.path, seen.server_name) == (
        "GET",
        "/owned-model.json",
        "metrics.internal",
    )
    assert seen.headers["Host"] == f"metrics.internal:{server.port}"
    batch = IngestionBatch.objects.get()
    assert batch.status == BatchStatus.SUCCEEDED and Observation.objects.count() == 1
    source.refresh_from_db()
    assert source.last_error == ""


def test_a_redirect_from_an_allowed_source_is_not_followed(
    admin_user, owned_model, auc, versions, cert, settings, internal_dns
):
    with listener(reply(200, ROWS), cert=cert) as target:
        away = redirect(target.url("/m.json", host="localhost"))
        with listener(away, cert=cert) as allowed:
            settings.MLGOV_EGRESS_ALLOW = [f"metrics.internal:{allowed.port}"]
            settings.MLGOV_EGRESS_CA_FILE = cert.cert_file
            source = _legacy_source(
                admin_user,
                owned_model,
                f"https://metrics.internal:{allowed.port}/m.json",
                "metrics.internal",
            )
            error = _pull(source).last_error
    assert "answered 302" in error and "redirects are not followed" in error
    assert len(allowed.requests) == 1 and target.requests == []
    assert not IngestionBatch.objects.exists()


def test_a_source_that_rebinds_to_loopback_is_refused_at_pull_time(
    admin_user, owned_model, auc, versions, cert, settings, monkeypatch
):
    with listener(reply(200, ROWS), cert=cert) as server:
        settings.MLGOV_EGRESS_PORTS = [443, server.port]
        # Public while the host and the source are saved, loopback when the pull comes.
        FakeDNS(monkeypatch, {"metrics.example.com": [[PUBLIC], [PUBLIC], ["127.0.0.1"]]})
        services.allowed_pull_host_create(actor=admin_user, hostname="metrics.example.com")
        source = services.metric_source_create(
            actor=admin_user,
            model=owned_model,
            url=f"https://metrics.example.com:{server.port}/m.json",
        )
        error = _pull(source).last_error
    assert "metrics.example.com resolves to 127.0.0.1, a loopback address" in error
    assert server.requests == []


def test_an_oversized_or_slow_answer_is_refused(
    admin_user, owned_model, auc, versions, cert, settings, internal_dns
):
    settings.MLGOV_EGRESS_CA_FILE = cert.cert_file
    settings.MLGOV_INGEST_MAX_BYTES = 1000
    settings.MLGOV_PULL_TIMEOUT_SECONDS = 1
    with (
        listener(reply(200, b"[" + b" " * 2000 + b"]"), cert=cert) as big,
        listener(drip(interval=0.1, total=500), cert=cert) as slow,
    ):
        settings.MLGOV_EGRESS_ALLOW = [
            f"metrics.internal:{big.port}",
            f"metrics.internal:{slow.port}",
        ]
        big_source = _legacy_source(
            admin_user, owned_model, f"https://metrics.internal:{big.port}/", "metrics.internal"
        )
        slow_source = _legacy_source(
            admin_user, owned_model, f"https://metrics.internal:{slow.port}/", "metrics.internal"
        )
        assert "larger than the limit of 1000 bytes" in _pull(big_source).last_error
        started = time.monotonic()
        assert "did not answer within the limit of 1 s" in _pull(slow_source).last_error
        assert time.monotonic() - started < 1.8
    assert not IngestionBatch.objects.exists()
