"""Dataset, deployment and model-dependency services: audit events, permissions, cycles."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from apps.audit.models import AuditEvent
from apps.core.errors import ApplicationError
from apps.inventory import services
from apps.inventory.choices import EUAIActClass
from apps.inventory.models import Dataset, Deployment, ModelDependency
from tests.factories import DatasetFactory, ModelVersionFactory, RegisteredModelFactory


def _dataset(actor, slug="deliveries-2025", **extra) -> Dataset:
    data = {"name": "Deliveries 2025", "uri": "s3://data/deliveries-2025.parquet"}
    data.update(extra)
    return services.dataset_create(actor=actor, slug=slug, **data)


# --- datasets ----------------------------------------------------------------------------


def test_a_model_owner_registers_a_dataset_with_its_datasheet(model_owner):
    dataset = _dataset(
        model_owner,
        contains_personal_data=True,
        motivation="Train the failed-delivery predictor.",
        known_gaps="Few rural addresses.",
    )
    assert (dataset.owner, dataset.created_by) == (model_owner, model_owner)
    [event] = AuditEvent.objects.all()
    assert event.action == "create"
    assert (event.object_type, event.object_id) == ("inventory.dataset", str(dataset.pk))
    assert event.model_ref is None
    assert event.changes["contains_personal_data"] == {"before": None, "after": True}
    assert event.changes["known_gaps"] == {"before": None, "after": "Few rural addresses."}


@pytest.mark.parametrize("persona", ["business_owner", "auditor", "viewer", "outsider"])
def test_others_cannot_register_datasets(persona, request):
    with pytest.raises(PermissionDenied):
        _dataset(request.getfixturevalue(persona))
    assert not Dataset.objects.exists()


def test_a_duplicate_dataset_slug_or_bad_hash_is_refused_by_field(model_owner):
    _dataset(model_owner)
    with pytest.raises(ApplicationError) as exc:
        _dataset(model_owner)
    assert "slug" in exc.value.field_errors
    with pytest.raises(ApplicationError) as exc:
        _dataset(model_owner, slug="other", content_hash="abc")
    assert "content_hash" in exc.value.field_errors
    assert Dataset.objects.count() == 1
    assert AuditEvent.objects.count() == 1


def test_the_dataset_owner_edits_it_and_only_changes_are_recorded(model_owner):
    dataset = _dataset(model_owner)
    services.dataset_update(actor=model_owner, dataset=dataset, preprocessing="Deduplicated.")
    event = AuditEvent.objects.order_by("sequence").last()
    assert event.action == "update"
    assert event.changes == {"preprocessing": {"before": "", "after": "Deduplicated."}}


@pytest.mark.parametrize("persona", ["other_model_owner", "business_owner", "auditor", "viewer"])
def test_others_cannot_edit_a_dataset(persona, request, model_owner):
    dataset = _dataset(model_owner)
    with pytest.raises(PermissionDenied):
        services.dataset_update(
            actor=request.getfixturevalue(persona), dataset=dataset, name="Renamed"
        )
    assert Dataset.objects.get(pk=dataset.pk).name == "Deliveries 2025"


# --- deployments -------------------------------------------------------------------------


def test_the_owner_records_a_deployment(model_owner, owned_model):
    version = ModelVersionFactory(model=owned_model)
    deployment = services.deployment_create(
        actor=model_owner,
        version=version,
        environment="staging",
        endpoint="https://ml.internal/fd",
        consumers="Dispatch planning",
    )
    assert deployment.deployed_at is not None
    [event] = AuditEvent.objects.all()
    assert (event.object_type, event.model_ref) == ("inventory.deployment", owned_model.pk)
    assert event.changes["environment"] == {"before": None, "after": "staging"}
    assert event.changes["consumers"] == {"before": None, "after": "Dispatch planning"}


def test_an_unknown_environment_is_refused(model_owner, owned_model):
    version = ModelVersionFactory(model=owned_model)
    with pytest.raises(ApplicationError) as exc:
        services.deployment_create(actor=model_owner, version=version, environment="moon")
    assert "environment" in exc.value.field_errors
    assert not Deployment.objects.exists()
    assert not AuditEvent.objects.exists()


def test_a_prohibited_model_is_never_deployed_to_production(admin_user):
    model = RegisteredModelFactory(eu_ai_act_class=EUAIActClass.PROHIBITED, risk_tier=1)
    version = ModelVersionFactory(model=model)
    with pytest.raises(ApplicationError) as exc:
        services.deployment_create(actor=admin_user, version=version, environment="production")
    assert "environment" in exc.value.field_errors
    assert not Deployment.objects.exists()


@pytest.mark.parametrize(
    "persona", ["other_model_owner", "business_owner", "validator", "auditor", "viewer"]
)
def test_others_cannot_record_deployments(persona, request, owned_model):
    version = ModelVersionFactory(model=owned_model)
    with pytest.raises(PermissionDenied):
        services.deployment_create(
            actor=request.getfixturevalue(persona), version=version, environment="staging"
        )


# --- model dependencies ------------------------------------------------------------------


def test_a_feed_is_recorded_in_both_models_histories(model_owner, owned_model):
    upstream = RegisteredModelFactory(slug="address-quality")
    link = services.model_dependency_create(
        actor=model_owner, upstream=upstream, downstream=owned_model, description="Scores."
    )
    events = list(AuditEvent.objects.order_by("sequence"))
    assert {e.model_ref for e in events} == {upstream.pk, owned_model.pk}
    assert all(e.object_id == str(link.pk) for e in events)
    assert events[0].changes == {
        "description": {"before": None, "after": "Scores."},
        "downstream": {"before": None, "after": "owned-model"},
        "kind": {"before": None, "after": "feeds"},
        "upstream": {"before": None, "after": "address-quality"},
    }


def test_a_model_cannot_feed_itself(model_owner, owned_model):
    with pytest.raises(ApplicationError) as exc:
        services.model_dependency_create(
            actor=model_owner, upstream=owned_model, downstream=owned_model
        )
    assert "upstream" in exc.value.field_errors


def test_direct_and_indirect_cycles_are_refused(admin_user):
    a, b, c = (RegisteredModelFactory(slug=s) for s in ("a-model", "b-model", "c-model"))
    services.model_dependency_create(actor=admin_user, upstream=a, downstream=b)
    services.model_dependency_create(actor=admin_user, upstream=b, downstream=c)
    for upstream, downstream in ((b, a), (c, a)):
        with pytest.raises(ApplicationError, match="cycle") as exc:
            services.model_dependency_create(
                actor=admin_user, upstream=upstream, downstream=downstream
            )
        assert "upstream" in exc.value.field_errors
    # A diamond is not a cycle.
    services.model_dependency_create(actor=admin_user, upstream=a, downstream=c)
    assert ModelDependency.objects.count() == 3
    assert AuditEvent.objects.count() == 6


def test_a_duplicate_feed_is_refused(admin_user, owned_model, foreign_model):
    services.model_dependency_create(
        actor=admin_user, upstream=foreign_model, downstream=owned_model
    )
    with pytest.raises(ApplicationError, match="already feeds"):
        services.model_dependency_create(
            actor=admin_user, upstream=foreign_model, downstream=owned_model
        )
    assert ModelDependency.objects.count() == 1
    assert AuditEvent.objects.count() == 2


@pytest.mark.parametrize("persona", ["other_model_owner", "auditor", "viewer", "outsider"])
def test_others_cannot_link_models(persona, request, owned_model, foreign_model):
    with pytest.raises(PermissionDenied):
        services.model_dependency_create(
            actor=request.getfixturevalue(persona), upstream=foreign_model, downstream=owned_model
        )


def test_a_version_links_back_to_its_training_data(model_owner, owned_model):
    dataset = DatasetFactory()
    version = services.model_version_register(
        actor=model_owner,
        model=owned_model,
        version="1.0",
        artifact_uri="s3://m/1.0",
        artifact_sha256="a" * 64,
        training_datasets=[dataset],
    )
    assert list(dataset.versions.all()) == [version]
