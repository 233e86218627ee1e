"""``manage.py ingest_metrics``, scheduled pulls with the host allow-list, and the admin."""

from __future__ import annotations

import datetime

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.utils import timezone

from apps.core.errors import ApplicationError
from apps.monitoring.choices import BatchStatus, IngestionSource
from apps.monitoring.ingestion import pull, services, tasks
from apps.monitoring.models import AllowedPullHost, IngestionBatch, MetricSource, Observation
from tests.listeners import FakeDNS
from tests.monitoring.ingestion.conftest import csv_bytes, good_rows, row

pytestmark = pytest.mark.django_db


# --- the command ------------------------------------------------------------------------------


# The command runs outside a transaction, so its batch's task runs as soon as it is created.
command_db = pytest.mark.django_db(transaction=True)


@command_db
def test_the_command_loads_a_file_and_prints_the_outcome(
    tmp_path, model_owner, auc, versions, capsys
):
    path = tmp_path / "m.csv"
    path.write_bytes(csv_bytes(*good_rows(3)))
    call_command(
        "ingest_metrics", str(path), "--user", model_owner.username, "--wait", "--timeout", "5"
    )
    out = capsys.readouterr().out
    assert "Succeeded — 3 loaded, 0 already recorded, 0 rejected of 3 rows." in out
    batch = IngestionBatch.objects.get()
    assert batch.source == IngestionSource.COMMAND and Observation.objects.count() == 3


@command_db
def test_the_command_fails_with_the_row_errors(tmp_path, model_owner, auc, versions, capsys):
    path = tmp_path / "m.csv"
    path.write_bytes(csv_bytes(row(value="abc")))
    with pytest.raises(CommandError, match="failed"):
        call_command(
            "ingest_metrics", str(path), "--user", model_owner.username, "--model", "owned-model"
        )
    err = capsys.readouterr().err
    assert "row 2, value: Not a number. (value: 'abc')" in err
    assert Observation.objects.count() == 0


@command_db
def test_the_command_sends_as_the_first_administrator_by_default(
    tmp_path, admin_user, auc, versions
):
    path = tmp_path / "m.csv"
    path.write_bytes(csv_bytes(*good_rows(1)))
    call_command("ingest_metrics", str(path))
    assert IngestionBatch.objects.get().created_by == admin_user


def test_the_command_refuses_unknown_files_users_and_models(tmp_path, model_owner):
    with pytest.raises(CommandError, match="No such file"):
        call_command("ingest_metrics", str(tmp_path / "missing.csv"))
    path = tmp_path / "m.csv"
    path.write_bytes(b"x")
    with pytest.raises(CommandError, match="No active user"):
        call_command("ingest_metrics", str(path), "--user", "nobody")
    with pytest.raises(CommandError, match="No model"):
        call_command("ingest_metrics", str(path), "--user", model_owner.username, "--model", "x")


# --- scheduled pulls --------------------------------------------------------------------------


PUBLIC = "93.184.215.14"  # what the test resolver answers for the public pull hosts


@pytest.fixture(autouse=True)
def public_dns(monkeypatch, settings):
    """The pull hosts of these tests resolve to a public address; nothing is allow-listed."""
    settings.MLGOV_EGRESS_ALLOW = []
    settings.MLGOV_EGRESS_PORTS = [80, 443]
    public = ("metrics.example.com", "pull.example.org", "other.test", "x.test")
    return FakeDNS(monkeypatch, {name: [[PUBLIC]] for name in public})


@pytest.fixture
def source(admin_user, owned_model, auc, versions):
    services.allowed_pull_host_create(actor=admin_user, hostname="Metrics.Example.com")
    return services.metric_source_create(
        actor=admin_user,
        model=owned_model,
        url="https://metrics.example.com/owned-model.json",
        interval_minutes=60,
    )


ROWS = (
    b'{"rows": [{"model": "owned-model", "version": "1.0.0", "metric": "auc", '
    b'"value": 0.8, "timestamp": "2025-01-01T00:00:00Z"}]}'
)


@pytest.fixture
def fetched(monkeypatch):
    calls = []

    def fake_fetch(url, *, timeout, max_bytes):
        calls.append((url, timeout, max_bytes))
        return ROWS

    monkeypatch.setattr(pull, "fetch", fake_fetch)
    return calls


def test_a_due_source_is_pulled_into_a_batch_of_its_model(
    source, fetched, admin_user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.pull_due_sources.delay().get() == [source.pk]
    assert fetched == [
        (source.url, settings.MLGOV_PULL_TIMEOUT_SECONDS, settings.MLGOV_INGEST_MAX_BYTES)
    ]
    batch = IngestionBatch.objects.get()
    assert batch.source == IngestionSource.SCHEDULE and batch.scope_model == source.model
    assert batch.metric_source == source and batch.created_by == admin_user
    assert batch.status == BatchStatus.SUCCEEDED and Observation.objects.count() == 1
    source.refresh_from_db()
    assert source.last_pulled_at and source.last_error == ""
    # Not due again before its interval; the same content again is not loaded twice.
    assert tasks.pull_due_sources.delay().get() == []
    MetricSource.objects.update(last_pulled_at=timezone.now() - datetime.timedelta(hours=2))
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.pull_due_sources.delay().get() == [source.pk]
    assert IngestionBatch.objects.count() == 1


def test_a_host_taken_off_the_allow_list_is_not_fetched(source, fetched, admin_user):
    services.allowed_pull_host_delete(
        actor=admin_user, host=AllowedPullHost.objects.get(hostname="metrics.example.com")
    )
    assert tasks.pull_source.delay(source.pk).get() is None
    source.refresh_from_db()
    assert "not on the allow-list" in source.last_error
    assert fetched == [] and IngestionBatch.objects.count() == 0


def test_only_https_is_fetched(source, fetched):
    MetricSource.objects.filter(pk=source.pk).update(url="http://metrics.example.com/x.json")
    assert tasks.pull_source.delay(source.pk).get() is None
    source.refresh_from_db()
    assert "Only https://" in source.last_error and fetched == []


def test_disabled_sources_are_neither_due_nor_pulled(source, fetched):
    MetricSource.objects.update(enabled=False)
    assert tasks.pull_due_sources.delay().get() == []
    assert tasks.pull_source.delay(source.pk).get() is None and fetched == []


def test_a_failing_fetch_is_recorded_on_the_source(source, monkeypatch):
    def down(url, **kwargs):
        raise pull.PullRefused(f"Fetching {url} failed: timed out")

    monkeypatch.setattr(pull, "fetch", down)
    tasks.pull_source.delay(source.pk).get()
    source.refresh_from_db()
    assert source.last_error.endswith("timed out") and IngestionBatch.objects.count() == 0


def test_sources_need_https_and_an_allowed_host(admin_user, owned_model, model_owner):
    with pytest.raises(ApplicationError, match="https"):
        services.metric_source_create(actor=admin_user, model=owned_model, url="http://x.test/m")
    with pytest.raises(ApplicationError, match="allow-list"):
        services.metric_source_create(actor=admin_user, model=owned_model, url="https://x.test/m")
    with pytest.raises(ApplicationError, match="host name only"):
        services.allowed_pull_host_create(actor=admin_user, hostname="https://x.test/path")
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.allowed_pull_host_create(actor=model_owner, hostname="x.test")


def test_the_admin_adds_hosts_and_sources_through_the_services(client, admin_user, owned_model):
    from apps.audit.models import AuditEvent

    client.force_login(admin_user)
    response = client.post(
        "/admin/monitoring/allowedpullhost/add/", {"hostname": "Pull.Example.org", "note": "ops"}
    )
    assert response.status_code == 302
    host = AllowedPullHost.objects.get()
    assert host.hostname == "pull.example.org" and host.created_by == admin_user
    response = client.post(
        "/admin/monitoring/metricsource/add/",
        {
            "model": owned_model.pk,
            "url": "https://pull.example.org/m.csv",
            "format": "csv",
            "interval_minutes": 15,
            "enabled": "on",
        },
    )
    assert response.status_code == 302 and MetricSource.objects.get().format == "csv"
    assert AuditEvent.objects.filter(object_type="monitoring.metricsource").exists()
    refused = client.post(
        "/admin/monitoring/metricsource/add/",
        {
            "model": owned_model.pk,
            "url": "https://other.test/m",
            "format": "csv",
            "interval_minutes": 15,
        },
        follow=True,
    )
    assert "allow-list" in refused.content.decode() and MetricSource.objects.count() == 1
