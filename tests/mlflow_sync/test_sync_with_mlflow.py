"""The registry sync against a real MLflow server, populated through MLflow's own client.

One story, in order (the server is shared by the module): a first sync discovers the
models and their versions; a second changes nothing; then MLflow changes (a new version, the
champion alias on a version mlgov never approved, the files of an approved version
overwritten) and the next syncs record the version, open the incident, raise the finding,
update the digest of a version not yet approved whose files changed, and note on the
incident when the alias is gone; once an owner claims a model, its metrics keep flowing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from apps.audit.models import AuditEvent
from apps.incidents.choices import EventKind
from apps.incidents.models import Incident
from apps.inventory.choices import DatasetRole
from apps.inventory.models import ModelVersion, RegisteredModel
from apps.inventory.services import registered_model_update, version_lock
from apps.mlflow_sync import services
from apps.mlflow_sync.choices import RunStatus, RunTrigger
from apps.mlflow_sync.models import ModelLink, ServingCondition, VersionLink
from apps.monitoring.models import IngestionBatch, Observation
from apps.notifications.models import Notification
from apps.reviews.models import Finding
from tests.mlflow_sync.conftest import make_connection
from tests.monitoring.factories import MetricFactory

pytestmark = pytest.mark.django_db

POPULATE = r"""
import mlflow, pandas as pd
from mlflow import MlflowClient

client = MlflowClient()
mlflow.set_experiment("credit")


class Echo(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        return model_input


def train(name, depth, auc, data_name):
    frame = pd.DataFrame({"income": [1.0, 2.0, 3.0], "age": [30, 40, 50]})
    with mlflow.start_run() as run:
        mlflow.log_params({"max_depth": depth, "learning_rate": 0.1})
        mlflow.log_metric("auc", auc)
        data = "https://data.bank.example"
        train = mlflow.data.from_pandas(frame, source=f"{data}/{data_name}.parquet", name=data_name)
        mlflow.log_input(train, context="training")
        hold = mlflow.data.from_pandas(frame, source=f"{data}/holdout.parquet", name="holdout")
        mlflow.log_input(hold, context="evaluation")
        info = mlflow.pyfunc.log_model(
            name="model", python_model=Echo(), input_example=frame,
            registered_model_name=name, pip_requirements=["pandas"],
        )
    return run.info.run_id, str(info.registered_model_version)


for step in P["steps"]:
    if step == "initial":
        OUT["credit_run"], _ = train("credit-scorer", 4, 0.81, "loans-2024")
        train("churn-model", 6, 0.72, "customers-2024")
        train("scratch-notebook", 2, 0.5, "scratch")
        client.set_registered_model_alias("credit-scorer", "candidate", "1")
        with mlflow.start_run(run_name="credit monitoring") as mon:
            for i, value in enumerate([0.81, 0.79, 0.83]):
                mlflow.log_metric("accuracy", value, step=i, timestamp=P["base_ms"] + i * 3600000)
        client.set_model_version_tag("credit-scorer", "1", "mlgov.monitoring_run", mon.info.run_id)
        OUT["monitoring_run"] = mon.info.run_id
    elif step == "change":
        train("credit-scorer", 5, 0.84, "loans-2025")
        client.set_registered_model_alias("churn-model", "champion", "1")
        with mlflow.start_run(run_id=P["monitoring_run"]):
            mlflow.log_metric("accuracy", 0.77, step=3, timestamp=P["base_ms"] + 3 * 3600000)
    elif step == "more":
        with mlflow.start_run(run_id=P["monitoring_run"]):
            stamp = P["base_ms"] + P["at"] * 3600000
            mlflow.log_metric("accuracy", P["value"], step=P["at"], timestamp=stamp)
    elif step == "unmark":
        client.delete_registered_model_alias("churn-model", "champion")
    OUT["credit_v1_uri"] = client.get_model_version_download_uri("credit-scorer", "1")
"""
BASE_MS = 1_764_000_000_000  # 2025-11-24


@pytest.fixture
def world(mlflow_server, settings, admin_user, validator, service_user, unit):
    settings.MLGOV_EGRESS_ALLOW = [mlflow_server.allow_entry]
    MetricFactory(name="accuracy")
    connection = make_connection(
        admin_user,
        service_user,
        unit,
        mlflow_server.url,
        model_patterns="credit-*\nchurn-*",
    )
    return connection


def _sync(connection, admin_user, capture):
    with capture(execute=True):
        run, created = services.sync_request(
            actor=admin_user, connection=connection, trigger=RunTrigger.MANUAL
        )
    assert created
    run.refresh_from_db()
    assert run.status == RunStatus.DONE, run.error
    return run


def _mlflow(server, *steps, **params):
    return server.client_script(POPULATE, steps=list(steps), base_ms=BASE_MS, **params)


def test_it_keeps_mlgov_in_step_with_a_real_mlflow_registry(
    mlflow_server,
    world,
    admin_user,
    validator,
    service_user,
    model_owner,
    business_owner,
    settings,
    django_capture_on_commit_callbacks,
):
    capture = django_capture_on_commit_callbacks
    made = _mlflow(mlflow_server, "initial")

    # --- first sync: discovered models, versions with everything MLflow knows ---------------
    first = _sync(world, admin_user, capture)
    assert (first.seen, first.created, first.refused) == (4, 4, 0), first.refusals
    credit = RegisteredModel.objects.get(mlflow_link__mlflow_name="credit-scorer")
    churn = RegisteredModel.objects.get(mlflow_link__mlflow_name="churn-model")
    assert not RegisteredModel.objects.filter(name="scratch-notebook").exists()
    for model in (credit, churn):
        assert model.awaits_claim and model.risk_tier is None
        assert model.discovered_from == "MLflow (Bank registry)"
        assert model.owner == service_user and model.status == "development"
    v1 = ModelVersion.objects.get(model=credit, version="1")
    assert v1.hyperparameters == {"max_depth": "4", "learning_rate": "0.1"}
    assert v1.evaluation_metrics == {"auc": 0.81}
    assert not v1.is_locked
    roles = {(link.role, link.dataset.name) for link in v1.dataset_links.all()}
    assert roles == {(DatasetRole.TRAINED_ON, "loans-2024"), (DatasetRole.EVALUATED_ON, "holdout")}
    link = VersionLink.objects.get(version=v1)
    assert link.run_id == made["credit_run"]
    assert link.digest_covers == "files" and link.digest == v1.artifact_sha256
    assert link.aliases == ["candidate"]
    assert link.tags["mlgov.monitoring_run"] == made["monitoring_run"]
    assert link.signature["inputs"][0]["name"] in {"income", "age"}
    assert "income" in link.input_example
    # The monitoring run's metric over time arrived through the ingestion path.
    batch = IngestionBatch.objects.get(scope_model=credit)
    assert batch.status == "succeeded", batch.error
    values = Observation.objects.filter(version=v1, metric__name="accuracy")
    assert sorted(values.values_list("value", flat=True)) == [0.79, 0.81, 0.83]
    assert not Incident.objects.exists()

    # --- an unchanged registry changes nothing ----------------------------------------------
    events = AuditEvent.objects.count()
    second = _sync(world, admin_user, capture)
    assert (second.seen, second.created, second.updated, second.unchanged) == (4, 0, 0, 4)
    # Only the run's own records (queued, done) were audited.
    assert AuditEvent.objects.count() == events + 2
    assert IngestionBatch.objects.count() == 1

    # --- MLflow changes -----------------------------------------------------------------------
    with django_capture_on_commit_callbacks(execute=True):
        version_lock(actor=validator, version=v1)  # approved in mlgov: immutable from now on
    approved_sha = v1.artifact_sha256
    made = _mlflow(mlflow_server, "change", monitoring_run=made["monitoring_run"])
    files = mlflow_server.artifacts / made["credit_v1_uri"].removeprefix("mlflow-artifacts:/")
    example = Path(files) / "input_example.json"
    example.write_text(example.read_text().replace("30", "31"))

    third = _sync(world, admin_user, capture)
    assert third.created == 1  # credit-scorer v2
    assert ModelVersion.objects.get(model=credit, version="2").hyperparameters["max_depth"] == "5"
    # The approved version was not edited: a finding says its files changed.
    v1.refresh_from_db()
    assert v1.artifact_sha256 == approved_sha
    finding = Finding.objects.get(model=credit)
    assert "changed in MLflow" in finding.title and approved_sha in finding.description
    assert [r["item"] for r in third.refusals] == ["credit-scorer v1"]
    # The champion alias on a version without an approved promotion opened an incident.
    incident = Incident.objects.get(model=churn)
    assert "without an approved promotion" in incident.title
    assert incident.affected_versions.get().version == "1"
    assert Notification.objects.filter(recipient=validator, event="incident.opened").exists()
    # The new point of the monitoring run, and only it, was ingested.
    assert Observation.objects.filter(version=v1, metric__name="accuracy").count() == 4

    # --- the same registry again: no second incident, no second finding -----------------------
    fourth = _sync(world, admin_user, capture)
    assert fourth.created == 0 and fourth.updated == 0
    assert Incident.objects.count() == 1 and Finding.objects.count() == 1

    # --- the files of a version not yet approved change in MLflow, same version -----------
    v2 = ModelVersion.objects.get(model=credit, version="2")
    link2 = VersionLink.objects.get(version=v2)
    old_sha = v2.artifact_sha256
    assert link2.checked_at is not None
    files = mlflow_server.artifacts / link2.artifact_uri.removeprefix("mlflow-artifacts:/")
    example = Path(files) / "input_example.json"
    example.write_text(example.read_text().replace("30", "32"))
    # Read again only once MLGOV_MLFLOW_RECHECK_MINUTES have passed since the last read.
    quiet = _sync(world, admin_user, capture)
    assert (quiet.updated, quiet.refused) == (0, 1)  # v1 is still the approved one changed
    assert ModelVersion.objects.get(pk=v2.pk).artifact_sha256 == old_sha
    settings.MLGOV_MLFLOW_RECHECK_MINUTES = 0
    noticed = _sync(world, admin_user, capture)
    assert noticed.updated == 1 and noticed.created == 0
    v2.refresh_from_db()
    link2.refresh_from_db()
    assert v2.artifact_sha256 != old_sha and link2.digest == v2.artifact_sha256
    assert "32" in link2.input_example
    change = AuditEvent.objects.filter(
        object_type="inventory.modelversion", object_id=str(v2.pk), action="update"
    ).get()
    assert change.model_ref == credit.pk  # in the model's (and the version's) history
    assert change.changes["artifact_sha256"] == {"before": old_sha, "after": v2.artifact_sha256}
    assert any("files changed in MLflow" in note for note in noticed.notes)
    assert Finding.objects.count() == 1  # the version was not approved: no finding
    again = _sync(world, admin_user, capture)
    assert again.updated == 0

    # --- the alias is removed: the condition ends and the incident says so ----------------
    _mlflow(mlflow_server, "unmark")
    _sync(world, admin_user, capture)
    condition = ServingCondition.objects.get()
    assert condition.ended_at is not None and "champion" in condition.ended_because
    note = incident.events.filter(kind=EventKind.COMMENT).get()
    assert "no longer marks it as serving" in note.text
    assert ModelLink.objects.count() == 2

    # --- an owner claims the model: the metrics the sync finds keep flowing ------------------
    services.discovered_model_claim(
        actor=model_owner, model=credit, purpose="Scores loans.", business_owner=business_owner
    )
    monitoring_run = VersionLink.objects.get(version=v1).tags["mlgov.monitoring_run"]
    _mlflow(mlflow_server, "more", monitoring_run=monitoring_run, value=0.75, at=4)
    claimed = _sync(world, admin_user, capture)
    assert not [r for r in claimed.refusals if r["item"].endswith("metrics")], claimed.refusals
    assert Observation.objects.filter(version=v1, metric__name="accuracy").count() == 5
    batch = IngestionBatch.objects.filter(scope_model=credit).latest("pk")
    assert batch.created_by == service_user and batch.status == "succeeded", batch.error
    assert AuditEvent.objects.filter(
        object_type="monitoring.ingestionbatch", object_id=str(batch.pk), actor=service_user
    ).exists()
    # The owner takes the service user off the model's developers: the points stop, and the
    # sync says why.
    credit.refresh_from_db()
    registered_model_update(actor=model_owner, model=credit, developers=[])
    _mlflow(mlflow_server, "more", monitoring_run=monitoring_run, value=0.74, at=5)
    stopped = _sync(world, admin_user, capture)
    assert any("may not push metrics" in r["reason"] for r in stopped.refusals), stopped.refusals
    assert Observation.objects.filter(version=v1, metric__name="accuracy").count() == 5
