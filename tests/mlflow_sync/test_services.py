"""Connections, runs and claiming, without an MLflow server: the checks that come first."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from apps.audit.models import AuditEvent
from apps.core.errors import ApplicationError
from apps.inventory.services import registered_model_discover
from apps.jobs.models import Job
from apps.mlflow_sync import services
from apps.mlflow_sync.choices import RunStatus, RunTrigger
from apps.mlflow_sync.models import SyncRun
from tests.mlflow_sync.conftest import make_connection

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _allow_a_test_host(settings):
    settings.MLGOV_EGRESS_ALLOW = ["127.0.0.1:18449"]


URL = "http://127.0.0.1:18449"


def test_an_administrator_adds_a_connection_and_it_is_audited(admin_user, service_user, unit):
    connection = make_connection(admin_user, service_user, unit, URL, credential_env="MLFLOW_TOKEN")
    event = AuditEvent.objects.filter(object_id=str(connection.pk)).get()
    assert event.actor == admin_user and event.action == "create"
    assert event.changes["credential_env"]["after"] == "MLFLOW_TOKEN"


def test_it_refuses_a_model_owner_adding_a_connection(model_owner, service_user, unit):
    with pytest.raises(PermissionDenied, match="not allowed"):
        make_connection(model_owner, service_user, unit, URL)


def test_it_refuses_an_address_the_operator_did_not_allow(admin_user, service_user, unit):
    with pytest.raises(ApplicationError, match="MLGOV_EGRESS_ALLOW") as caught:
        make_connection(admin_user, service_user, unit, "http://10.1.2.3:5000")
    assert "tracking_url" in caught.value.field_errors


def test_it_refuses_a_service_user_without_the_model_owner_role(admin_user, viewer, unit):
    with pytest.raises(ApplicationError, match="model owner role") as caught:
        make_connection(admin_user, viewer, unit, URL)
    assert "run_as" in caught.value.field_errors


def test_it_names_a_malformed_serving_marker(admin_user, service_user, unit):
    with pytest.raises(ApplicationError, match="'champion' is not a serving marker"):
        make_connection(admin_user, service_user, unit, URL, serving_markers="champion")


def test_a_sync_is_a_job_and_a_second_request_joins_the_first(admin_user, service_user, unit):
    connection = make_connection(admin_user, service_user, unit, URL)
    run, created = services.sync_request(
        actor=admin_user, connection=connection, trigger=RunTrigger.MANUAL
    )
    again, created_again = services.sync_request(
        actor=admin_user, connection=connection, trigger=RunTrigger.API
    )
    assert created and not created_again and again == run
    assert Job.objects.get(task=services.SYNC_TASK).object_id == run.pk


def test_a_missing_credential_variable_fails_the_run_with_its_name(
    admin_user, service_user, unit, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.delenv("MLGOV_TEST_MLFLOW_TOKEN", raising=False)
    connection = make_connection(
        admin_user, service_user, unit, URL, credential_env="MLGOV_TEST_MLFLOW_TOKEN"
    )
    with django_capture_on_commit_callbacks(execute=True):
        run, _ = services.sync_request(
            actor=admin_user, connection=connection, trigger=RunTrigger.MANUAL
        )
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert "MLGOV_TEST_MLFLOW_TOKEN" in run.error and "not set" in run.error


def test_the_schedule_queues_only_connections_that_are_due(admin_user, service_user, unit):
    from apps.core import clock

    due = make_connection(admin_user, service_user, unit, URL, name="due")
    make_connection(admin_user, service_user, unit, URL, name="off", enabled=False)
    queued = services.connections_due(now=clock.now())
    assert [SyncRun.objects.get(pk=pk).connection for pk in queued] == [due]
    assert services.connections_due(now=clock.now()) == []  # the first is still queued


def _discover(service_user, unit):
    return registered_model_discover(
        actor=service_user, slug="found", name="Found", source="MLflow (x)", business_unit=unit
    )


def test_claiming_makes_the_claimant_the_owner_and_approves_nothing(
    service_user, unit, model_owner, business_owner
):
    model = registered_model_discover(
        actor=service_user,
        slug="found",
        name="Found model",
        source="MLflow (x)",
        business_unit=unit,
    )
    assert model.awaits_claim and model.owner == service_user
    claimed = services.discovered_model_claim(
        actor=model_owner, model=model, purpose="Scores loans.", business_owner=business_owner
    )
    assert (claimed.owner, claimed.business_owner) == (model_owner, business_owner)
    assert not claimed.awaits_claim and claimed.risk_tier is None
    assert claimed.status == "development"
    assert service_user in claimed.developers.all()  # the sync keeps its versions in step
    with pytest.raises(ApplicationError, match="not waiting to be claimed"):
        services.discovered_model_claim(
            actor=model_owner, model=claimed, purpose="Again.", business_owner=business_owner
        )


def test_a_claim_names_a_business_owner(service_user, unit, model_owner, viewer):
    model = registered_model_discover(
        actor=service_user,
        slug="found",
        name="Found model",
        source="MLflow (x)",
        business_unit=unit,
    )
    with pytest.raises(ApplicationError, match="business owner role") as caught:
        services.discovered_model_claim(
            actor=model_owner, model=model, purpose="Scores loans.", business_owner=viewer
        )
    assert "business_owner" in caught.value.field_errors
