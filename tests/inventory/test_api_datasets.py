"""API: /api/v1/datasets/ — list, read, register, edit."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from apps.audit.models import AuditEvent
from apps.inventory.models import Dataset
from tests.factories import DatasetFactory

pytestmark = pytest.mark.django_db

EVERYONE = ["admin_user", "validator", "business_owner", "model_owner", "auditor", "viewer"]


def api(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_login(user)
    return client


LIST = "/api/v1/datasets/"


def detail_url(slug: str) -> str:
    return reverse("api:dataset-detail", kwargs={"slug": slug})


def _payload(**extra) -> dict:
    return {
        "slug": "deliveries-2025",
        "name": "Deliveries 2025",
        "uri": "s3://data/deliveries-2025.parquet",
        "version": "2025-06",
        "contains_personal_data": True,
        "composition": "One row per parcel.",
        **extra,
    }


@pytest.mark.parametrize("persona", EVERYONE)
def test_every_role_lists_and_reads_datasets(request, persona, model_owner):
    DatasetFactory(slug="payments", owner=model_owner)
    client = api(request.getfixturevalue(persona))
    assert [row["slug"] for row in client.get(LIST).json()["results"]] == ["payments"]
    body = client.get(detail_url("payments")).json()
    assert body["owner"] == "mo.owner"
    assert body["url"].endswith("/api/v1/datasets/payments/")


def test_users_without_a_role_get_403(outsider):
    assert api(outsider).get(LIST).status_code == 403


def test_an_unknown_dataset_answers_404(viewer):
    assert api(viewer).get(detail_url("nothing-here")).status_code == 404


def test_the_list_uses_the_dataset_filters(viewer, model_owner):
    DatasetFactory(slug="payments", name="Payments", owner=model_owner)
    DatasetFactory(
        slug="customers", name="Customers", owner=model_owner, contains_personal_data=True
    )
    client = api(viewer)
    rows = client.get(LIST, {"contains_personal_data": "true"}).json()["results"]
    assert [row["slug"] for row in rows] == ["customers"]
    rows = client.get(LIST, {"q": "pay"}).json()["results"]
    assert [row["slug"] for row in rows] == ["payments"]


def test_the_list_costs_the_same_queries_for_3_or_30_datasets(
    django_assert_max_num_queries, viewer, model_owner
):
    client = api(viewer)
    DatasetFactory.create_batch(3, owner=model_owner, created_by=model_owner)
    with CaptureQueriesContext(connection) as few:
        client.get(LIST)
    few_count = len(few)
    DatasetFactory.create_batch(27, owner=model_owner, created_by=model_owner)
    with django_assert_max_num_queries(few_count):
        assert client.get(LIST).json()["count"] == 30
    with django_assert_max_num_queries(few_count):
        assert client.get(detail_url(Dataset.objects.first().slug)).status_code == 200


@pytest.mark.parametrize("persona", ["admin_user", "validator", "model_owner"])
def test_admins_validators_and_model_owners_register_datasets(request, persona):
    user = request.getfixturevalue(persona)
    response = api(user).post(LIST, _payload(), format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["owner"] == user.username
    event = AuditEvent.objects.get()
    assert (event.object_type, event.action, event.actor) == ("inventory.dataset", "create", user)


@pytest.mark.parametrize("persona", ["business_owner", "auditor", "viewer"])
def test_other_roles_may_not_register_datasets(request, persona):
    response = api(request.getfixturevalue(persona)).post(LIST, _payload(), format="json")
    assert response.status_code == 403
    assert not Dataset.objects.exists()


def test_bad_fields_are_named_and_nothing_is_written(model_owner):
    response = api(model_owner).post(
        LIST, _payload(content_hash="not-a-hash", uri=""), format="json"
    )
    assert response.status_code == 400
    errors = response.json()
    assert "SHA-256" in errors["content_hash"][0]
    assert "uri" in errors
    assert not Dataset.objects.exists()
    assert not AuditEvent.objects.exists()


def test_a_duplicate_slug_is_named(model_owner):
    DatasetFactory(slug="deliveries-2025", owner=model_owner)
    response = api(model_owner).post(LIST, _payload(), format="json")
    assert response.status_code == 400
    assert "already exists" in response.json()["slug"][0]


def test_the_owner_edits_their_dataset(model_owner):
    DatasetFactory(slug="payments", owner=model_owner)
    response = api(model_owner).patch(
        detail_url("payments"), {"known_gaps": "No weekend data."}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["known_gaps"] == "No weekend data."
    assert AuditEvent.objects.get().changes["known_gaps"]["after"] == "No weekend data."


def test_a_model_owner_cannot_edit_someone_elses_dataset(model_owner, other_model_owner):
    DatasetFactory(slug="payments", owner=other_model_owner)
    response = api(model_owner).patch(detail_url("payments"), {"name": "Mine"}, format="json")
    assert response.status_code == 403


@pytest.mark.parametrize("persona", ["business_owner", "auditor", "viewer"])
def test_read_only_roles_get_403_on_edit(request, persona, model_owner):
    DatasetFactory(slug="payments", owner=model_owner)
    response = api(request.getfixturevalue(persona)).patch(
        detail_url("payments"), {"name": "x"}, format="json"
    )
    assert response.status_code == 403


@pytest.mark.parametrize("persona", ["auditor", "viewer", "business_owner"])
def test_an_ineligible_owner_is_refused_with_the_field_named(request, persona, admin_user):
    person = request.getfixturevalue(persona)
    response = api(admin_user).post(LIST, _payload(owner=person.username), format="json")
    assert response.status_code == 400
    assert "cannot own a dataset" in response.json()["owner"][0]
    assert not Dataset.objects.exists()
    assert not AuditEvent.objects.exists()


def test_reassigning_a_dataset_to_a_viewer_is_refused(admin_user, model_owner, viewer):
    DatasetFactory(slug="payments", owner=model_owner)
    response = api(admin_user).patch(
        detail_url("payments"), {"owner": viewer.username}, format="json"
    )
    assert response.status_code == 400
    assert "owner" in response.json()
    assert Dataset.objects.get().owner == model_owner


def test_a_dataset_may_be_handed_to_a_validator(admin_user, model_owner, validator):
    DatasetFactory(slug="payments", owner=model_owner)
    response = api(admin_user).patch(
        detail_url("payments"), {"owner": validator.username}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert Dataset.objects.get().owner == validator
