"""``POST /api/v1/lineage/openlineage/``: events made with the openlineage-python client become
datasets, version data links and model feeds; malformed ones answer 400 naming the field;
the same event twice changes nothing; unmapped jobs wait; every change is audited."""

from __future__ import annotations

import uuid

import pytest
from django.urls import reverse
from django.utils import timezone
from openlineage.client.event_v2 import RunState
from rest_framework.test import APIClient

from apps.accounts.services import auth_token_create
from apps.audit.models import AuditEvent
from apps.inventory.models import Dataset, ModelDependency, VersionDataset
from apps.openlineage import services
from apps.openlineage.models import LineageEvent, LineageJob, ModelDataset
from tests.factories import DatasetFactory, ModelVersionFactory, RegisteredModelFactory
from tests.openlineage.events import as_dict, dataset, run_event

pytestmark = pytest.mark.django_db
URL = reverse("api:openlineage-intake")
LAKE = "s3://lake"


def client_for(user, *, scope: str = "lineage", bearer: bool = True) -> APIClient:
    _, key = auth_token_create(actor=user, user=user, name="airflow", scope=scope)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"{'Bearer' if bearer else 'Token'} {key}")
    return client


def send(client: APIClient, event) -> tuple[int, dict]:
    body = event if isinstance(event, dict) else as_dict(event)
    response = client.post(URL, body, format="json")
    return response.status_code, response.json()


@pytest.fixture
def pipeline(model_owner):
    return client_for(model_owner)


def training(model="owned-model", version="1.0.0", **kw):
    kw.setdefault("inputs", [dataset(LAKE, "credit/applications.parquet", version="2026-10")])
    kw.setdefault("outputs", [dataset("s3://models", f"{model}/{version}.pkl", output=True)])
    return run_event(model=model, version=version, **kw)


def test_a_training_run_records_its_datasets_and_the_versions_data(pipeline, owned_model):
    version = ModelVersionFactory(model=owned_model, version="1.0.0")

    status, body = send(pipeline, training())

    assert status == 201, body
    assert body["status"] == "applied" and body["model"] == "owned-model"
    assert body["duplicate"] is False
    applications = Dataset.objects.get(uri="s3://lake/credit/applications.parquet")
    assert applications.version == "2026-10"
    assert applications.owner.username == "mo.owner"
    assert Dataset.objects.filter(uri="s3://models/owned-model/1.0.0.pkl").exists()
    assert list(
        VersionDataset.objects.filter(version=version).values_list("dataset__slug", "role")
    ) == [(applications.slug, "trained_on")]
    assert "1 input and 1 output" in body["outcome"]


def test_an_input_known_by_its_uri_is_the_registered_dataset(pipeline, owned_model):
    registered = DatasetFactory(slug="applications", uri="s3://lake/credit/applications.parquet")
    ModelVersionFactory(model=owned_model, version="1.0.0")

    send(pipeline, training(outputs=[]))

    assert Dataset.objects.filter(uri=registered.uri).count() == 1
    assert VersionDataset.objects.get().dataset == registered


def test_the_same_event_twice_changes_nothing(pipeline, owned_model):
    ModelVersionFactory(model=owned_model, version="1.0.0")
    event = as_dict(training())
    send(pipeline, event)
    audit_count, dataset_count = AuditEvent.objects.count(), Dataset.objects.count()

    # The same run, type and time, written another way: still the same event.
    event["eventTime"] = event["eventTime"].replace("Z", "+00:00")
    status, body = send(pipeline, event)

    assert status == 200
    assert body["duplicate"] is True
    assert LineageEvent.objects.count() == 1
    assert (AuditEvent.objects.count(), Dataset.objects.count()) == (audit_count, dataset_count)


def test_start_and_complete_of_one_run_are_two_events(pipeline, owned_model):
    run_id = str(uuid.uuid4())
    send(pipeline, training(state=RunState.START, run_id=run_id, outputs=[]))
    status, _ = send(pipeline, training(run_id=run_id))

    assert status == 201
    assert LineageEvent.objects.filter(run_id=run_id).count() == 2


def test_a_job_without_facet_or_rule_waits_for_an_administrator(pipeline, owned_model, admin_user):
    status, body = send(pipeline, run_event(job="nightly.scoring", inputs=[dataset(LAKE, "x")]))

    assert status == 201
    assert body["status"] == "unmapped" and body["model"] is None
    job = LineageJob.objects.get(name="nightly.scoring")
    assert job.model is None
    assert not Dataset.objects.exists()  # nothing applied before the job has a model

    applied = services.lineage_job_map(actor=admin_user, job=job, model=owned_model)

    assert applied == 1
    assert LineageEvent.objects.get().status == "applied"
    assert ModelDataset.objects.get().model == owned_model
    mapping = AuditEvent.objects.filter(object_type="openlineage.lineagejob").latest("sequence")
    assert mapping.actor == admin_user
    assert mapping.changes["model"]["after"] == owned_model.pk


def test_a_naming_rule_maps_the_jobs_it_matches(pipeline, owned_model, admin_user):
    send(pipeline, run_event(job="credit_scoring.train.daily", inputs=[dataset(LAKE, "a")]))
    send(pipeline, run_event(job="fraud.train", inputs=[dataset(LAKE, "b")]))

    rule, mapped = services.naming_rule_create(
        actor=admin_user,
        namespace_pattern="airflow-*",
        job_pattern="credit_scoring.*",
        model=owned_model,
    )

    assert mapped == 1
    assert LineageJob.objects.get(name="credit_scoring.train.daily").rule == rule
    assert LineageJob.objects.get(name="fraud.train").model is None
    # Later events of matching jobs map by the rule at once.
    status, body = send(
        pipeline, run_event(job="credit_scoring.train.weekly", inputs=[dataset(LAKE, "c")])
    )
    assert (status, body["status"], body["model"]) == (201, "applied", "owned-model")
    assert LineageJob.objects.get(name="credit_scoring.train.weekly").mapped_by == "rule"


def test_a_rule_for_another_namespace_does_not_map_the_job(pipeline, owned_model, admin_user):
    services.naming_rule_create(
        actor=admin_user, namespace_pattern="spark", job_pattern="*", model=owned_model
    )

    _, body = send(pipeline, run_event(job="credit.train", inputs=[dataset(LAKE, "a")]))

    assert body["status"] == "unmapped"


def test_a_dataset_one_model_writes_and_another_reads_is_a_feed(
    model_owner, owned_model, admin_user
):
    downstream = RegisteredModelFactory(slug="collections", owner=model_owner)
    pipeline = client_for(model_owner)
    scores = dataset("warehouse", "credit.scores", output=True)

    send(pipeline, run_event(job="credit.score", model="owned-model", outputs=[scores]))
    _, body = send(
        pipeline,
        run_event(
            job="collections.train",
            model="collections",
            inputs=[dataset("warehouse", "credit.scores")],
        ),
    )

    link = ModelDependency.objects.get()
    assert (link.upstream, link.downstream) == (owned_model, downstream)
    assert "Feed owned-model → collections recorded." in body["outcome"]


def test_an_approved_versions_data_stays_as_approved(pipeline, owned_model):
    version = ModelVersionFactory(model=owned_model, version="1.0.0")
    version.approved_at = timezone.now()
    version.save(update_fields=["approved_at"])

    _, body = send(pipeline, training())

    assert body["status"] == "applied"
    assert not VersionDataset.objects.filter(version=version).exists()
    assert "immutable" in body["outcome"]


def test_an_unknown_version_is_kept_and_not_applied(pipeline, owned_model):
    _, body = send(pipeline, training(version="9.9.9"))

    assert body["status"] == "refused"
    assert "no version '9.9.9'" in body["outcome"]
    assert not Dataset.objects.exists()  # all or nothing


def test_a_model_the_sender_does_not_own_is_not_changed(pipeline, foreign_model):
    status, body = send(pipeline, run_event(model="foreign-model", inputs=[dataset(LAKE, "a")]))

    assert status == 400
    assert body["/job/facets/mlgov/model"] == [
        "No model “foreign-model” in mlgov that you may see."
    ]
    assert not LineageEvent.objects.exists()


def test_a_rule_to_a_model_the_sender_may_not_change_refuses_the_event(
    pipeline, foreign_model, admin_user
):
    services.naming_rule_create(actor=admin_user, job_pattern="fraud.*", model=foreign_model)

    _, body = send(pipeline, run_event(job="fraud.train", inputs=[dataset(LAKE, "a")]))

    assert body["status"] == "refused"
    assert "mo.owner may not record lineage for foreign-model" in body["outcome"]
    assert not Dataset.objects.exists()


def test_a_failed_run_is_kept_but_not_lineage(pipeline, owned_model):
    _, body = send(pipeline, training(state=RunState.FAIL))

    assert body["status"] == "recorded"
    assert not Dataset.objects.exists()


@pytest.mark.parametrize(
    ("change", "pointer"),
    [
        (lambda e: e.pop("eventTime"), "/eventTime"),
        (lambda e: e.update(eventType="FINISHED"), "/eventType"),
        (lambda e: e["job"]["facets"]["mlgov"].pop("_producer"), "/job/facets/mlgov/_producer"),
        (
            lambda e: e["inputs"][0]["facets"]["version"].pop("datasetVersion"),
            "/inputs/0/facets/version/datasetVersion",
        ),
        (lambda e: e["run"].update(runId="not-a-uuid"), "/run/runId"),
        (lambda e: e["job"].update(name="j" * 501), "/job/name"),
    ],
)
def test_a_malformed_event_answers_400_naming_the_field(pipeline, owned_model, change, pointer):
    event = as_dict(training())
    change(event)

    status, body = send(pipeline, event)

    assert status == 400, body
    assert pointer in body, body
    assert body["detail"].startswith(f"Invalid OpenLineage RunEvent at {pointer}")
    assert not LineageEvent.objects.exists() and not LineageJob.objects.exists()


def test_a_body_that_is_not_json_answers_400(pipeline):
    response = pipeline.post(URL, "{not json", content_type="application/json")
    assert response.status_code == 400


def test_readers_may_not_send_lineage(auditor):
    status, _ = send(client_for(auditor), training())
    assert status == 403


def test_anonymous_senders_are_refused():
    assert APIClient().post(URL, as_dict(training()), format="json").status_code == 401


def test_every_change_is_audited(pipeline, owned_model):
    ModelVersionFactory(model=owned_model, version="1.0.0")
    send(pipeline, training())

    types = set(AuditEvent.objects.values_list("object_type", flat=True))
    assert {
        "openlineage.lineageevent",
        "openlineage.lineagejob",
        "openlineage.datasetname",
        "inventory.dataset",
        "inventory.modelversion",
    } <= types
    received = AuditEvent.objects.get(object_type="openlineage.lineageevent")
    assert received.actor.username == "mo.owner"
    assert received.changes["status"]["after"] == "applied"


def test_receiving_costs_a_bounded_number_of_queries(
    pipeline, owned_model, django_assert_max_num_queries
):
    ModelVersionFactory(model=owned_model, version="1.0.0")
    send(pipeline, training())  # datasets and links exist: the steady state of a nightly job

    with django_assert_max_num_queries(40):
        status, _ = send(pipeline, training())
    assert status == 201


def test_the_endpoint_answers_without_its_final_slash_too(pipeline, owned_model):
    response = pipeline.post(URL.rstrip("/"), as_dict(training()), format="json")
    assert response.status_code == 201
