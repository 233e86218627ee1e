"""The replica router: reads go to the replica only inside a ``reading_from_replica()`` scope
and outside transactions on the primary; writes always go to the primary; without a replica
the scope changes nothing. The dashboard and a report work with a replica mirroring the test
database (a second connection), and read through it."""

from __future__ import annotations

import threading

import pytest
from django.db import connections, transaction
from django.test.utils import CaptureQueriesContext

from apps.core import replica
from apps.core.replica import reading_from_replica
from apps.inventory.models import RegisteredModel
from apps.reports import services as reports
from apps.reports.choices import ReportStatus
from tests.core.replica_alias import DATABASES, replica_alias, without_replica
from tests.factories import ModelVersionFactory, RegisteredModelFactory

pytestmark = pytest.mark.django_db(transaction=True, databases=DATABASES)


@pytest.fixture(scope="module", autouse=True)
def mirror(django_db_setup):
    with replica_alias():
        yield


def test_without_a_replica_the_scope_reads_the_primary():
    with without_replica():
        assert not replica.configured()
        with reading_from_replica():
            assert RegisteredModel.objects.all().db == "default"
    assert replica.configured()


def test_reads_go_to_the_replica_only_inside_a_scope(mirror):
    assert RegisteredModel.objects.all().db == "default"
    with reading_from_replica():
        assert RegisteredModel.objects.all().db == "replica"
        with reading_from_replica():
            assert RegisteredModel.objects.all().db == "replica"
        assert RegisteredModel.objects.all().db == "replica"
    assert RegisteredModel.objects.all().db == "default"


def test_writes_and_reads_in_a_transaction_stay_on_the_primary(mirror):
    with reading_from_replica():
        model = RegisteredModelFactory()
        assert model._state.db == "default"
        with transaction.atomic():
            assert RegisteredModel.objects.all().db == "default"
            assert RegisteredModel.objects.select_for_update().get(pk=model.pk) == model
        read = RegisteredModel.objects.get(pk=model.pk)
        assert read._state.db == "replica"
    # An object read from the replica is saved to the primary, and may be related to others.
    read.name = "Renamed"
    read.save()
    assert RegisteredModel.objects.get(pk=model.pk).name == "Renamed"
    version = ModelVersionFactory(model=read)
    assert version._state.db == "default" and version.model_id == model.pk


def test_the_decorator_scopes_each_call_and_no_other_thread():
    seen = []

    @reading_from_replica()
    def read():
        seen.append(replica.read_alias())
        other = threading.Thread(target=lambda: seen.append(replica.read_alias()))
        other.start()
        other.join()

    read()
    read()
    assert seen == ["replica", None, "replica", None]
    assert replica.read_alias() is None


def test_the_dashboard_reads_from_the_replica(mirror, client, validator, owned_model):
    client.force_login(validator)
    with CaptureQueriesContext(connections["replica"]) as on_replica:
        response = client.get("/")
    assert response.status_code == 200 and b"By risk tier" in response.content
    assert any("inventory_registeredmodel" in q["sql"] for q in on_replica.captured_queries)


def test_a_report_reads_its_snapshot_from_the_replica(mirror, auditor, owned_model):
    ModelVersionFactory(model=owned_model, version="4.2.0", stage="production")
    with CaptureQueriesContext(connections["replica"]) as on_replica:
        report = reports.report_request(
            user=auditor, kind="model_card", fmt="markdown", model=owned_model
        )
    report.refresh_from_db()
    assert report.status == ReportStatus.DONE, report.error
    assert b"4.2.0" in reports.report_file_bytes(report=report)
    assert any("inventory_modelversion" in q["sql"] for q in on_replica.captured_queries)
    # The report's own record is written on the primary, never on the replica.
    assert not any(
        q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
        for q in on_replica.captured_queries
    )


class FakeCursor:
    def __init__(self, answers):
        self.answers = answers

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def execute(self, sql, params=None):
        self.sql = sql

    def fetchone(self):
        return (self.answers(self.sql),)


class FakeConnection:
    vendor = "postgresql"

    def __init__(self, answers):
        self.answers = answers

    def cursor(self):
        return FakeCursor(self.answers)


@pytest.mark.parametrize(("replayed_after", "expected"), [(3, True), (10**6, False)])
def test_a_standby_is_waited_for_until_it_has_replayed_the_primarys_position(
    monkeypatch, replayed_after, expected
):
    polls = []

    def standby(sql):
        if "pg_is_in_recovery" in sql:
            return True
        polls.append(sql)
        return len(polls) >= replayed_after

    def primary(sql):
        assert "pg_current_wal_lsn" in sql
        return "0/3000060"

    fake = {"replica": FakeConnection(standby), "default": FakeConnection(primary)}
    monkeypatch.setattr(replica, "connections", fake)
    assert replica.caught_up(timeout=0.3) is expected
    assert all("pg_last_wal_replay_lsn() >= %s::pg_lsn" in sql for sql in polls)
    assert len(polls) == 3 if expected else len(polls) > 1
