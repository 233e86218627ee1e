"""Version registration and editing, stages, deployments and model-to-model links."""

from __future__ import annotations

import hashlib

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.inventory import services
from apps.inventory.choices import LifecycleStatus, VersionStage
from apps.inventory.models import Deployment, ModelDependency, ModelVersion
from tests.factories import DatasetFactory, ModelVersionFactory, RegisteredModelFactory

SHA = hashlib.sha256(b"artifact").hexdigest()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def url(name: str, slug: str = "owned-model", **kwargs) -> str:
    return reverse(f"inventory:{name}", kwargs={"slug": slug, **kwargs})


def _version_data(**extra) -> dict:
    data = {
        "version": "1.0.0+build.3",
        "artifact_uri": "s3://models/fd/1.0.0.pkl",
        "artifact_sha256": SHA,
        "code_commit": "abc1234",
        "hyperparameters": '{"max_depth": 6}',
        "evaluation_metrics": '{"auc": 0.81}',
    }
    data.update(extra)
    return data


def test_the_owner_registers_a_version_with_its_datasets(client, model_owner, owned_model):
    train, test = DatasetFactory(), DatasetFactory()
    client.force_login(model_owner)
    assert client.get(url("version_create")).status_code == 200
    response = client.post(
        url("version_create"),
        _version_data(training_datasets=[train.pk], evaluation_datasets=[test.pk]),
    )
    assert response.status_code == 302
    version = ModelVersion.objects.get(model=owned_model)
    assert response["Location"] == version.get_absolute_url()
    assert version.hyperparameters == {"max_depth": 6}
    assert {(link.dataset, link.role) for link in version.dataset_links.all()} == {
        (train, "trained_on"),
        (test, "evaluated_on"),
    }
    assert client.get(response["Location"]).status_code == 200


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"max_depth": 6,}', "This is not valid JSON"),
        ("[1, 2]", "Enter a JSON object"),
    ],
)
def test_bad_json_is_explained_and_nothing_is_written(
    client, model_owner, owned_model, text, message
):
    client.force_login(model_owner)
    response = client.post(url("version_create"), _version_data(hyperparameters=text))
    assert response.status_code == 200
    errors = response.context["form"].errors["hyperparameters"]
    assert any(message in e for e in errors)
    assert message.encode() in response.content
    assert not ModelVersion.objects.exists()


def test_a_bad_hash_is_reported_on_its_field(client, model_owner, owned_model):
    client.force_login(model_owner)
    response = client.post(url("version_create"), _version_data(artifact_sha256="xyz"))
    assert "artifact_sha256" in response.context["form"].errors
    assert not ModelVersion.objects.exists()


def test_a_duplicate_version_is_reported_on_the_version_field(client, model_owner, owned_model):
    ModelVersionFactory(model=owned_model, version="1.0.0+build.3")
    client.force_login(model_owner)
    response = client.post(url("version_create"), _version_data())
    assert "version" in response.context["form"].errors
    assert ModelVersion.objects.count() == 1


@pytest.mark.parametrize("persona", ["validator", "business_owner", "auditor", "viewer"])
def test_others_cannot_register_versions(client, request, owned_model, persona):
    client.force_login(request.getfixturevalue(persona))
    assert client.get(url("version_create")).status_code == 403


def test_versions_of_models_outside_reach_are_not_found(client, model_owner, foreign_model):
    ModelVersionFactory(model=foreign_model, version="1.0")
    client.force_login(model_owner)
    assert client.get(url("version_create", "foreign-model")).status_code == 404
    assert client.get(url("version_detail", "foreign-model", version="1.0")).status_code == 404


def test_an_unlocked_version_can_be_edited(client, model_owner, owned_model):
    version = ModelVersionFactory(model=owned_model, version="1.0")
    client.force_login(model_owner)
    target = url("version_edit", version="1.0")
    assert client.get(target).status_code == 200
    data = _version_data(description="Retrained on more data.")
    data.pop("version")
    response = client.post(target, data)
    assert response.status_code == 302
    version.refresh_from_db()
    assert version.description == "Retrained on more data."


def test_a_locked_version_cannot_be_edited(client, model_owner, owned_model):
    version = ModelVersionFactory(model=owned_model, version="1.0")
    ModelVersion.objects.filter(pk=version.pk).update(approved_at=timezone.now())
    client.force_login(model_owner)
    response = client.post(url("version_edit", version="1.0"), _version_data(description="x"))
    assert response.status_code == 302
    version.refresh_from_db()
    assert version.description == ""
    follow = client.get(response["Location"])
    assert b"immutable" in follow.content


def test_the_stage_moves_and_refusals_show_the_message(client, model_owner, validator, owned_model):
    ModelVersionFactory(model=owned_model, version="1.0")
    client.force_login(model_owner)
    target = url("version_stage", version="1.0")
    assert client.post(target, {"stage": "staging"}).status_code == 302
    assert ModelVersion.objects.get().stage == VersionStage.STAGING
    client.force_login(validator)
    response = client.post(target, {"stage": "production"})
    assert response.status_code == 200
    assert b"request a promotion of this version" in response.content
    assert ModelVersion.objects.get().stage == VersionStage.STAGING


def test_viewers_cannot_change_stages(client, viewer, owned_model):
    ModelVersionFactory(model=owned_model, version="1.0")
    client.force_login(viewer)
    assert client.post(url("version_stage", version="1.0"), {"stage": "staging"}).status_code == 403


def test_a_deployment_is_recorded(client, model_owner, owned_model):
    version = ModelVersionFactory(model=owned_model, version="1.0")
    client.force_login(model_owner)
    assert client.get(url("deployment_create")).status_code == 200
    response = client.post(
        url("deployment_create"),
        {"version": version.pk, "environment": "staging", "endpoint": "https://svc/predict"},
    )
    assert response.status_code == 302
    assert Deployment.objects.get().version == version


def test_a_deployment_of_another_models_version_is_refused(
    client, model_owner, owned_model, foreign_model
):
    other = ModelVersionFactory(model=foreign_model)
    client.force_login(model_owner)
    response = client.post(
        url("deployment_create"), {"version": other.pk, "environment": "staging"}
    )
    assert "version" in response.context["form"].errors
    assert not Deployment.objects.exists()


def test_a_dependency_is_recorded_and_cycles_refused(client, admin_user, owned_model):
    upstream = RegisteredModelFactory(slug="upstream")
    client.force_login(admin_user)
    response = client.post(url("dependency_create"), {"upstream": "upstream"})
    assert response.status_code == 302
    assert ModelDependency.objects.get().downstream == owned_model
    response = client.post(url("dependency_create", "upstream"), {"upstream": "owned-model"})
    assert response.status_code == 200
    assert b"would create a cycle" in response.content
    assert ModelDependency.objects.count() == 1
    assert upstream.upstream_links.count() == 0


def test_viewers_cannot_add_deployments_or_dependencies(client, viewer, owned_model):
    client.force_login(viewer)
    assert client.get(url("deployment_create")).status_code == 403
    assert client.get(url("dependency_create")).status_code == 403


@pytest.mark.parametrize("rows", [3, 30])
def test_version_detail_query_count_is_constant(
    client, validator, model_owner, owned_model, rows, django_assert_max_num_queries
):
    datasets = [DatasetFactory() for _ in range(rows)]
    version = services.model_version_register(
        actor=model_owner,
        model=owned_model,
        version="1.0",
        artifact_uri="s3://m",
        artifact_sha256=SHA,
        training_datasets=datasets,
    )
    for _ in range(rows):
        services.deployment_create(actor=model_owner, version=version, environment="shadow")
    owned_model.status = LifecycleStatus.DEVELOPMENT
    client.force_login(validator)
    # 14: includes the navigation's count of approvals waiting for the validator.
    with django_assert_max_num_queries(14):
        assert client.get(url("version_detail", version="1.0")).status_code == 200


# --- taking the production version out of production is signed ---------------------------


def test_taking_the_production_version_out_of_production_is_signed(client, validator):
    from apps.audit.models import AuditEvent
    from tests.approvals.helpers import PASSWORD

    model = RegisteredModelFactory(
        slug="stepped-back", status=LifecycleStatus.VALIDATION, risk_tier=2
    )
    live = ModelVersionFactory(
        model=model, version="3.0.0", stage=VersionStage.PRODUCTION, approved_at=timezone.now()
    )
    client.force_login(validator)
    page = client.get(url("version_detail", slug=model.slug, version="3.0.0")).content.decode()
    assert 'name="password"' in page and 'data-confirm-field="stage"' in page
    stage_url = url("version_stage", slug=model.slug, version="3.0.0")
    refused = client.post(stage_url, {"stage": "archived", "password": "not-mine"})
    assert refused.status_code == 200
    assert b"The password is not correct" in refused.content
    live.refresh_from_db()
    assert live.stage == VersionStage.PRODUCTION
    assert AuditEvent.objects.filter(action="signature_failed", object_id=str(live.pk)).exists()
    moved = client.post(stage_url, {"stage": "archived", "password": PASSWORD})
    assert moved.status_code == 302
    live.refresh_from_db()
    assert live.stage == VersionStage.ARCHIVED
    event = AuditEvent.objects.filter(action="transition", object_id=str(live.pk)).get()
    assert "Signed electronically by" in event.message


def test_other_stage_moves_ask_for_no_password(client, model_owner, owned_model):
    ModelVersionFactory(model=owned_model, version="0.1.0")
    client.force_login(model_owner)
    page = client.get(url("version_detail", version="0.1.0")).content.decode()
    assert 'name="password"' not in page
    response = client.post(url("version_stage", version="0.1.0"), {"stage": "staging"})
    assert response.status_code == 302
