"""API: /api/v1/models/{slug}/versions/ — list, read, register, edit, stage."""

from __future__ import annotations

import hashlib

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from apps.audit.models import AuditEvent
from apps.inventory.choices import EUAIActClass, LifecycleStatus, VersionStage
from apps.inventory.models import ModelVersion
from tests.approvals.helpers import promote, validate
from tests.factories import DatasetFactory, ModelVersionFactory

pytestmark = pytest.mark.django_db

SHA = hashlib.sha256(b"artifact").hexdigest()


def api(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_login(user)
    return client


def list_url(slug: str = "owned-model") -> str:
    return reverse("api:model-version-list", kwargs={"model_slug": slug})


def detail_url(version: str, slug: str = "owned-model") -> str:
    return reverse("api:model-version-detail", kwargs={"model_slug": slug, "version": version})


def stage_url(version: str, slug: str = "owned-model") -> str:
    return reverse("api:model-version-stage", kwargs={"model_slug": slug, "version": version})


def _payload(**extra) -> dict:
    return {
        "version": "1.4.0",
        "artifact_uri": "s3://models/owned/1.4.0.pkl",
        "artifact_sha256": SHA,
        "code_commit": "0a1b2c3d",
        "hyperparameters": {"max_depth": 6},
        "evaluation_metrics": {"auc": 0.91},
        **extra,
    }


# --- read ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "persona",
    ["admin_user", "validator", "business_owner", "model_owner", "auditor", "viewer"],
)
def test_everyone_who_sees_the_model_lists_and_reads_its_versions(request, persona, owned_model):
    ModelVersionFactory(model=owned_model, version="2.0.0+build.7")
    client = api(request.getfixturevalue(persona))
    rows = client.get(list_url()).json()["results"]
    assert [row["version"] for row in rows] == ["2.0.0+build.7"]
    response = client.get(detail_url("2.0.0+build.7"))
    assert response.status_code == 200
    assert response.json()["model"] == "owned-model"
    assert response.json()["url"].endswith("/models/owned-model/versions/2.0.0+build.7/")


def test_versions_of_a_model_outside_reach_answer_404(other_model_owner, owned_model):
    ModelVersionFactory(model=owned_model, version="1.0.0")
    client = api(other_model_owner)
    assert client.get(list_url()).status_code == 404
    assert client.get(detail_url("1.0.0")).status_code == 404


def test_an_unknown_version_answers_404(validator, owned_model):
    assert api(validator).get(detail_url("9.9.9")).status_code == 404


def test_the_list_filters_by_stage(validator, owned_model):
    ModelVersionFactory(model=owned_model, version="1.0", stage=VersionStage.ARCHIVED)
    ModelVersionFactory(model=owned_model, version="1.1", stage=VersionStage.STAGING)
    rows = api(validator).get(list_url(), {"stage": "staging"}).json()["results"]
    assert [row["version"] for row in rows] == ["1.1"]


def test_the_list_costs_the_same_queries_for_3_or_30_versions(
    django_assert_max_num_queries, validator, owned_model
):
    train, evaluate = DatasetFactory(owner=validator), DatasetFactory(owner=validator)

    def add(n):
        for version in ModelVersionFactory.create_batch(n, model=owned_model):
            version.dataset_links.create(dataset=train, role="trained_on")
            version.dataset_links.create(dataset=evaluate, role="evaluated_on")

    client = api(validator)
    add(3)
    with CaptureQueriesContext(connection) as few:
        client.get(list_url())
    add(27)
    with django_assert_max_num_queries(len(few)):
        body = client.get(list_url()).json()
    assert body["count"] == 30
    assert body["results"][0]["training_datasets"] == [train.slug]
    with django_assert_max_num_queries(len(few)):
        assert client.get(detail_url(body["results"][0]["version"])).status_code == 200


# --- register -----------------------------------------------------------------------------


def test_the_owner_registers_a_version_with_its_datasets(model_owner, owned_model):
    train = DatasetFactory(slug="payments-2025")
    holdout = DatasetFactory(slug="payments-holdout")
    payload = _payload(training_datasets=[train.slug], evaluation_datasets=[holdout.slug])
    response = api(model_owner).post(list_url(), payload, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["training_datasets"] == ["payments-2025"]
    assert body["evaluation_datasets"] == ["payments-holdout"]
    assert body["created_by"] == "mo.owner"
    assert body["stage"] == "development"
    event = AuditEvent.objects.get(object_type="inventory.modelversion")
    assert event.action == "create"
    assert event.model_ref == owned_model.pk
    assert event.changes["datasets"]["after"] == [
        "evaluated_on:payments-holdout",
        "trained_on:payments-2025",
    ]


def test_a_developer_registers_versions_too(other_model_owner, owned_model):
    owned_model.developers.add(other_model_owner)
    response = api(other_model_owner).post(list_url(), _payload(), format="json")
    assert response.status_code == 201


@pytest.mark.parametrize("persona", ["validator", "business_owner", "auditor", "viewer"])
def test_other_roles_may_not_register_versions(request, persona, owned_model):
    response = api(request.getfixturevalue(persona)).post(list_url(), _payload(), format="json")
    assert response.status_code == 403
    assert not ModelVersion.objects.exists()


def test_registering_on_a_model_outside_reach_answers_404(other_model_owner, owned_model):
    response = api(other_model_owner).post(list_url(), _payload(), format="json")
    assert response.status_code == 404


def test_bad_fields_are_named_and_nothing_is_written(model_owner, owned_model):
    payload = _payload(artifact_sha256="abc", training_datasets=["no-such-dataset"])
    response = api(model_owner).post(list_url(), payload, format="json")
    assert response.status_code == 400
    errors = response.json()
    assert "SHA-256" in errors["artifact_sha256"][0]
    assert "no-such-dataset" in errors["training_datasets"][0]
    assert not ModelVersion.objects.exists()
    assert not AuditEvent.objects.exists()


def test_a_duplicate_version_is_named(model_owner, owned_model):
    ModelVersionFactory(model=owned_model, version="1.4.0")
    response = api(model_owner).post(list_url(), _payload(), format="json")
    assert response.status_code == 400
    assert "already exists" in response.json()["version"][0]
    assert ModelVersion.objects.count() == 1


def test_a_retired_model_takes_no_new_versions(model_owner, owned_model):
    owned_model.status = LifecycleStatus.RETIRED
    owned_model.save()
    response = api(model_owner).post(list_url(), _payload(), format="json")
    assert response.status_code == 400
    assert "retired" in response.json()["detail"]


# --- edit ---------------------------------------------------------------------------------


def test_the_owner_edits_an_unapproved_version(model_owner, owned_model):
    ModelVersionFactory(model=owned_model, version="1.0.0")
    response = api(model_owner).patch(
        detail_url("1.0.0"), {"evaluation_metrics": {"auc": 0.93}}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["evaluation_metrics"] == {"auc": 0.93}
    assert response.json()["version"] == "1.0.0"
    assert AuditEvent.objects.get().action == "update"


def test_an_approved_version_is_refused_with_409_and_a_clear_message(model_owner, owned_model):
    ModelVersionFactory(
        model=owned_model, version="1.0.0", approved_at=timezone.now(), approved_by=model_owner
    )
    response = api(model_owner).patch(
        detail_url("1.0.0"), {"description": "changed"}, format="json"
    )
    assert response.status_code == 409
    assert "immutable" in response.json()["detail"]
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize("persona", ["auditor", "viewer", "business_owner"])
def test_roles_that_cannot_edit_versions_get_403(request, persona, owned_model):
    ModelVersionFactory(model=owned_model, version="1.0.0", approved_at=timezone.now())
    response = api(request.getfixturevalue(persona)).patch(
        detail_url("1.0.0"), {"description": "changed"}, format="json"
    )
    assert response.status_code == 403


# --- stage --------------------------------------------------------------------------------


def test_the_owner_moves_a_version_to_staging(model_owner, owned_model):
    ModelVersionFactory(model=owned_model, version="1.0.0")
    response = api(model_owner).post(stage_url("1.0.0"), {"stage": "staging"}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["stage"] == "staging"


def test_the_owner_asking_for_production_is_pointed_to_a_promotion_request(
    model_owner, owned_model
):
    # As in the service and the browser: nobody moves a version to production here, and the
    # model's owner (who may request the promotion) is told how.
    ModelVersionFactory(model=owned_model, version="1.0.0")
    response = api(model_owner).post(stage_url("1.0.0"), {"stage": "production"}, format="json")
    assert response.status_code == 400
    assert "request a promotion" in response.json()["stage"][0]
    assert ModelVersion.objects.get().stage == VersionStage.DEVELOPMENT
    assert not AuditEvent.objects.exists()


def test_promotion_needs_an_approved_model(validator, owned_model):
    ModelVersionFactory(model=owned_model, version="1.0.0")
    response = api(validator).post(stage_url("1.0.0"), {"stage": "production"}, format="json")
    assert response.status_code == 400
    assert "approved" in response.json()["stage"][0]


def _approved(model) -> None:
    model.status = LifecycleStatus.APPROVED
    model.risk_tier = 2
    model.eu_ai_act_class = EUAIActClass.MINIMAL
    model.save()


def test_the_stage_action_refuses_production_and_points_to_a_promotion_request(
    validator, owned_model
):
    _approved(owned_model)
    ModelVersionFactory(model=owned_model, version="1.0.0")
    response = api(validator).post(stage_url("1.0.0"), {"stage": "production"}, format="json")
    assert response.status_code == 400
    assert "request a promotion" in response.json()["stage"][0]
    assert ModelVersion.objects.get().stage == VersionStage.DEVELOPMENT
    assert not AuditEvent.objects.exists()


def test_an_approved_promotion_shows_the_version_locked_in_production(
    validator, model_owner, business_owner, owned_model
):
    _approved(owned_model)
    version = ModelVersionFactory(model=owned_model, version="1.0.0")
    validate(version, model_owner, validator)
    promote(version, model_owner, [business_owner, validator])
    body = api(model_owner).get(detail_url("1.0.0")).json()
    assert body["stage"] == VersionStage.PRODUCTION
    assert body["is_locked"] is True
    assert body["approved_by"] == "val.validator"


@pytest.mark.parametrize("persona", ["auditor", "viewer", "business_owner"])
def test_read_only_and_business_roles_cannot_change_stages(request, persona, owned_model):
    ModelVersionFactory(model=owned_model, version="1.0.0")
    response = api(request.getfixturevalue(persona)).post(
        stage_url("1.0.0"), {"stage": "staging"}, format="json"
    )
    assert response.status_code == 403


def test_an_unknown_stage_is_named(model_owner, owned_model):
    ModelVersionFactory(model=owned_model, version="1.0.0")
    response = api(model_owner).post(stage_url("1.0.0"), {"stage": "moon"}, format="json")
    assert response.status_code == 400
    assert "stage" in response.json()
