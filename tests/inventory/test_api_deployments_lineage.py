"""API: /api/v1/deployments/ and /api/v1/lineage/ (the whole inventory graph)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from apps.audit.models import AuditEvent
from apps.inventory.models import Deployment, ModelDependency
from tests.factories import DatasetFactory, ModelVersionFactory, RegisteredModelFactory

pytestmark = pytest.mark.django_db

DEPLOYMENTS = "/api/v1/deployments/"
LINEAGE = "/api/v1/lineage/"


def api(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def owned_version(owned_model):
    return ModelVersionFactory(model=owned_model, version="1.0.0")


@pytest.fixture
def foreign_version(foreign_model):
    return ModelVersionFactory(model=foreign_model, version="3.1.0")


def _deploy(version, **extra) -> Deployment:
    return Deployment.objects.create(
        version=version,
        environment="production",
        deployed_at="2026-01-05T10:00:00Z",
        created_by=version.model.owner,
        **extra,
    )


# --- deployments --------------------------------------------------------------------------


def test_lists_show_only_deployments_of_visible_models(model_owner, owned_version, foreign_version):
    _deploy(owned_version)
    _deploy(foreign_version)
    rows = api(model_owner).get(DEPLOYMENTS).json()["results"]
    assert [(row["model"], row["version"]) for row in rows] == [("owned-model", "1.0.0")]


def test_the_list_filters_by_model_slug(viewer, owned_version, foreign_version):
    _deploy(owned_version)
    _deploy(foreign_version)
    rows = api(viewer).get(DEPLOYMENTS, {"model": "foreign-model"}).json()["results"]
    assert [row["model"] for row in rows] == ["foreign-model"]


def test_a_deployment_of_a_model_outside_reach_answers_404(business_owner, foreign_version):
    deployment = _deploy(foreign_version)
    url = reverse("api:deployment-detail", kwargs={"pk": deployment.pk})
    assert api(business_owner).get(url).status_code == 404


def test_the_owner_records_a_deployment(model_owner, owned_version):
    payload = {
        "model": "owned-model",
        "version": "1.0.0",
        "environment": "staging",
        "endpoint": "https://scoring.internal/v1",
        "consumers": "Collections team",
    }
    response = api(model_owner).post(DEPLOYMENTS, payload, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["environment_label"] == "Staging"
    event = AuditEvent.objects.get()
    assert (event.object_type, event.model_ref) == ("inventory.deployment", owned_version.model_id)


@pytest.mark.parametrize("persona", ["validator", "business_owner", "auditor", "viewer"])
def test_other_roles_may_not_record_deployments(request, persona, owned_version):
    payload = {"model": "owned-model", "version": "1.0.0", "environment": "staging"}
    response = api(request.getfixturevalue(persona)).post(DEPLOYMENTS, payload, format="json")
    assert response.status_code == 403
    assert not Deployment.objects.exists()


def test_a_model_or_version_out_of_reach_is_a_field_error(model_owner, foreign_version):
    client = api(model_owner)
    payload = {"model": "foreign-model", "version": "3.1.0", "environment": "staging"}
    response = client.post(DEPLOYMENTS, payload, format="json")
    assert response.status_code == 400
    assert response.json()["model"] == ["No such model."]
    assert not Deployment.objects.exists()


def test_an_unknown_version_or_environment_is_named(model_owner, owned_version):
    payload = {"model": "owned-model", "version": "9.9", "environment": "mars"}
    response = api(model_owner).post(DEPLOYMENTS, payload, format="json")
    assert response.status_code == 400
    assert "environment" in response.json()
    payload["environment"] = "staging"
    response = api(model_owner).post(DEPLOYMENTS, payload, format="json")
    assert "9.9" in response.json()["version"][0]


def test_the_deployment_list_costs_the_same_queries_for_3_or_30(
    django_assert_max_num_queries, viewer, owned_model
):
    client = api(viewer)
    for version in ModelVersionFactory.create_batch(3, model=owned_model):
        _deploy(version)
    with CaptureQueriesContext(connection) as few:
        client.get(DEPLOYMENTS)
    few_count = len(few)
    for version in ModelVersionFactory.create_batch(27, model=owned_model):
        _deploy(version)
    with django_assert_max_num_queries(few_count):
        assert client.get(DEPLOYMENTS).json()["count"] == 30
    url = reverse("api:deployment-detail", kwargs={"pk": Deployment.objects.first().pk})
    with django_assert_max_num_queries(few_count):
        assert client.get(url).status_code == 200


# --- lineage ------------------------------------------------------------------------------


def test_the_inventory_lineage_covers_every_visible_model(
    model_owner, owned_version, foreign_version, other_model_owner
):
    dataset = DatasetFactory(slug="payments", owner=model_owner)
    owned_version.dataset_links.create(dataset=dataset, role="trained_on")
    _deploy(owned_version)
    graph = api(model_owner).get(LINEAGE).json()
    ids = {node["id"] for node in graph["nodes"]}
    assert "model:owned-model" in ids
    assert "version:owned-model@1.0.0" in ids
    assert "dataset:payments" in ids
    assert not any("foreign-model" in node_id for node_id in ids)
    types = {edge["type"] for edge in graph["edges"]}
    assert types == {"has_version", "trained_on", "deployed_as"}


def test_the_inventory_lineage_includes_feeds_between_visible_models(
    viewer, owned_model, foreign_model
):
    ModelDependency.objects.create(
        upstream=owned_model, downstream=foreign_model, created_by=owned_model.owner
    )
    graph = api(viewer).get(LINEAGE).json()
    assert {"source": "model:owned-model", "target": "model:foreign-model", "type": "feeds"} in (
        graph["edges"]
    )


def test_the_inventory_lineage_needs_a_role(outsider):
    assert api(outsider).get(LINEAGE).status_code == 403
    assert api().get(LINEAGE).status_code == 401


def test_the_inventory_lineage_costs_the_same_queries_for_3_or_30_models(
    django_assert_max_num_queries, viewer, model_owner, business_owner
):
    dataset = DatasetFactory(owner=model_owner)

    def add(n):
        for model in RegisteredModelFactory.create_batch(
            n, owner=model_owner, business_owner=business_owner
        ):
            version = ModelVersionFactory(model=model)
            version.dataset_links.create(dataset=dataset, role="trained_on")
            _deploy(version)

    client = api(viewer)
    add(3)
    with CaptureQueriesContext(connection) as few:
        client.get(LINEAGE)
    few_count = len(few)
    add(27)
    with django_assert_max_num_queries(few_count):
        graph = client.get(LINEAGE).json()
    assert len([n for n in graph["nodes"] if n["type"] == "model"]) == 30


def test_the_inventory_lineage_builds_no_model_instance_per_row(viewer, model_owner):
    """The graph is read as rows (values_list): at 10,000 models building an instance per
    model, version, link and deployment cost ~40 s a request."""
    from django.db.models.signals import post_init

    dataset = DatasetFactory(slug="payments", owner=model_owner)
    for model in RegisteredModelFactory.create_batch(3, owner=model_owner):
        version = ModelVersionFactory(model=model)
        version.dataset_links.create(dataset=dataset, role="evaluated_on")
        _deploy(version, endpoint="https://score.example/v1")
    built: list[str] = []

    def count(sender, **kwargs):
        if sender._meta.app_label == "inventory":
            built.append(sender.__name__)

    client = api(viewer)
    post_init.connect(count)
    try:
        graph = client.get(LINEAGE).json()
    finally:
        post_init.disconnect(count)
    assert built == []
    deployments = [n for n in graph["nodes"] if n["type"] == "deployment"]
    assert len(deployments) == 3
    assert all(n["label"] == "Production https://score.example/v1" for n in deployments)
    datasets = [n for n in graph["nodes"] if n["type"] == "dataset"]
    assert [n["slug"] for n in datasets] == ["payments"]
    assert sum(e["type"] == "evaluated_on" for e in graph["edges"]) == 3


def test_the_inventory_lineage_pages_by_model_with_a_cursor(
    django_assert_max_num_queries, viewer, model_owner
):
    dataset = DatasetFactory(slug="payments", owner=model_owner)
    models = [RegisteredModelFactory(slug=f"m-{i:02d}", owner=model_owner) for i in range(5)]
    for model in models:
        version = ModelVersionFactory(model=model, version="1.0.0")
        version.dataset_links.create(dataset=dataset, role="trained_on")
        _deploy(version)
    ModelDependency.objects.create(upstream=models[0], downstream=models[4], created_by=model_owner)
    client = api(viewer)
    seen, cursor, pages = [], None, 0
    while True:
        query = f"{LINEAGE}?limit=2" + (f"&cursor={cursor}" if cursor else "")
        with django_assert_max_num_queries(12):
            page = client.get(query).json()
        pages += 1
        versions = [n["id"] for n in page["nodes"] if n["type"] == "version"]
        seen += versions
        assert len(versions) <= 2
        assert all(n["id"] != "dataset:payments" or n["slug"] for n in page["nodes"])
        cursor = page["next"]
        if cursor is None:
            break
    assert pages == 3
    assert seen == [f"version:m-{i:02d}@1.0.0" for i in range(5)]
    whole = client.get(LINEAGE).json()
    assert "next" not in whole
    first = client.get(f"{LINEAGE}?limit=2").json()
    assert {"source": "model:m-00", "target": "model:m-04", "type": "feeds"} in first["edges"]


def test_the_inventory_lineage_of_one_model_and_bad_limits(
    viewer, model_owner, owned_model, foreign_model
):
    ModelVersionFactory(model=owned_model, version="1.0.0")
    graph = api(viewer).get(f"{LINEAGE}?model=owned-model").json()
    assert {n["id"] for n in graph["nodes"]} == {"model:owned-model", "version:owned-model@1.0.0"}
    assert api(model_owner).get(f"{LINEAGE}?model=foreign-model").status_code == 404
    for limit in ("0", "1001", "x"):
        assert api(viewer).get(f"{LINEAGE}?limit={limit}").status_code == 400
