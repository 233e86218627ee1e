"""End to end on PostgreSQL: the replica is a second, real connection whose sessions refuse
writes (as a hot standby's do). A report reads its snapshot there and still sees the row
committed just before it was asked for; a replica that lags too long, or cannot be reached, is
skipped for the primary; the dashboard reads there and the session is saved on the primary."""

from __future__ import annotations

import pytest
from django.db import OperationalError, connections
from django.test.utils import CaptureQueriesContext

from apps.core import replica
from apps.reports import services as reports
from apps.reports.choices import ReportStatus
from tests.core.replica_alias import DATABASES, replica_alias
from tests.factories import ModelVersionFactory

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True, databases=DATABASES)]


@pytest.fixture(scope="module", autouse=True)
def read_only_replica(django_db_setup):
    with replica_alias(read_only=True):
        yield


def is_write(sql: str) -> bool:
    return sql.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))


def card(auditor, model):
    with CaptureQueriesContext(connections["replica"]) as on_replica:
        report = reports.report_request(
            user=auditor, kind="model_card", fmt="markdown", model=model
        )
    report.refresh_from_db()
    assert report.status == ReportStatus.DONE, report.error
    return reports.report_file_bytes(report=report), on_replica.captured_queries


def test_the_replica_connection_is_separate_and_refuses_writes():
    with connections["replica"].cursor() as cursor:
        cursor.execute("SHOW default_transaction_read_only")
        assert cursor.fetchone()[0] == "on"
        cursor.execute("SELECT pg_backend_pid()")
        replica_pid = cursor.fetchone()[0]
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] != replica_pid
    assert replica.caught_up(timeout=0)  # not a standby: nothing to wait for


def test_a_report_reads_the_replica_and_sees_the_row_committed_just_before(auditor, owned_model):
    ModelVersionFactory(model=owned_model, version="7.7.7", stage="production")
    content, on_replica = card(auditor, owned_model)
    assert b"7.7.7" in content
    assert any("inventory_modelversion" in q["sql"] for q in on_replica)
    assert not any(is_write(q["sql"]) for q in on_replica)


@pytest.mark.parametrize("lag", ["behind", "unreachable"])
def test_a_report_reads_the_primary_when_the_replica_is_behind_or_down(
    auditor, owned_model, monkeypatch, lag
):
    def caught_up(**kwargs):
        if lag == "unreachable":
            raise OperationalError("connection refused")
        return False

    monkeypatch.setattr(replica, "caught_up", caught_up)
    ModelVersionFactory(model=owned_model, version="8.8.8", stage="production")
    content, on_replica = card(auditor, owned_model)
    assert b"8.8.8" in content and on_replica == []


def test_the_dashboard_reads_the_replica_and_saves_the_session_on_the_primary(
    client, validator, owned_model
):
    client.force_login(validator)
    with (
        CaptureQueriesContext(connections["replica"]) as on_replica,
        CaptureQueriesContext(connections["default"]) as on_primary,
    ):
        response = client.get("/")
    assert response.status_code == 200 and b"By risk tier" in response.content
    assert any("inventory_registeredmodel" in q["sql"] for q in on_replica.captured_queries)
    assert not any(is_write(q["sql"]) for q in on_replica.captured_queries)
    assert any("django_session" in q["sql"] for q in on_primary.captured_queries)
