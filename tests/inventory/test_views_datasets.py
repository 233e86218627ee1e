"""Dataset pages: list with filters, datasheet and usage, create and edit."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.inventory.models import Dataset
from tests.factories import DatasetFactory, ModelVersionFactory, UserFactory

LIST = reverse("inventory:dataset_list")
CREATE = reverse("inventory:dataset_create")


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def url(name: str, slug: str) -> str:
    return reverse(f"inventory:{name}", kwargs={"slug": slug})


def _data(owner, **extra) -> dict:
    data = {
        "name": "Shipments 2024",
        "slug": "shipments-2024",
        "uri": "s3://data/shipments-2024.parquet",
        "version": "2024-12",
        "owner": owner.pk,
        "motivation": "Train the delivery model.",
    }
    data.update(extra)
    return data


def test_anonymous_and_roleless_users_are_kept_out(client, outsider):
    assert client.get(LIST).status_code == 302
    client.force_login(outsider)
    assert client.get(LIST).status_code == 403


def test_the_list_filters_and_searches(client, viewer):
    DatasetFactory(name="Shipments", contains_personal_data=False)
    DatasetFactory(name="Customers", contains_personal_data=True)
    client.force_login(viewer)
    names = [
        d.name for d in client.get(LIST, {"contains_personal_data": "true"}).context["datasets"]
    ]
    assert names == ["Customers"]
    names = [d.name for d in client.get(LIST, {"q": "ship"}).context["datasets"]]
    assert names == ["Shipments"]
    partial = client.get(LIST, HTTP_HX_REQUEST="true")
    assert b"<html" not in partial.content


def test_the_detail_shows_the_datasheet_and_only_visible_usage(
    client, model_owner, owned_model, foreign_model
):
    dataset = DatasetFactory(slug="shipments", known_gaps="No data before 2019.")
    mine = ModelVersionFactory(model=owned_model, version="1.0")
    theirs = ModelVersionFactory(model=foreign_model, version="9.9")
    for version in (mine, theirs):
        version.dataset_links.create(dataset=dataset, role="trained_on")
    client.force_login(model_owner)
    response = client.get(url("dataset_detail", "shipments"))
    assert response.status_code == 200
    assert b"No data before 2019." in response.content
    assert b"Owned model" in response.content
    assert b"Foreign model" not in response.content


def test_an_unknown_dataset_is_not_found(client, viewer):
    client.force_login(viewer)
    assert client.get(url("dataset_detail", "nope")).status_code == 404


def test_a_model_owner_registers_and_edits_a_dataset(client, model_owner):
    client.force_login(model_owner)
    assert client.get(CREATE).status_code == 200
    response = client.post(CREATE, _data(model_owner))
    assert response.status_code == 302
    dataset = Dataset.objects.get(slug="shipments-2024")
    edit = url("dataset_edit", "shipments-2024")
    assert client.get(edit).status_code == 200
    data = _data(model_owner, preprocessing="Deduplicated.")
    data.pop("slug")
    assert client.post(edit, data).status_code == 302
    dataset.refresh_from_db()
    assert dataset.preprocessing == "Deduplicated."


def test_bad_input_gets_field_messages_and_writes_nothing(client, model_owner):
    client.force_login(model_owner)
    response = client.post(CREATE, _data(model_owner, content_hash="nothex", uri=""))
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "content_hash" in errors and "uri" in errors
    assert not Dataset.objects.exists()


@pytest.mark.parametrize("persona", ["business_owner", "auditor", "viewer"])
def test_read_only_roles_cannot_register_datasets(client, db, request, persona):
    client.force_login(request.getfixturevalue(persona))
    assert client.get(CREATE).status_code == 403


def test_only_the_owner_edits_a_dataset(client, model_owner, other_model_owner):
    DatasetFactory(slug="theirs", owner=other_model_owner)
    client.force_login(model_owner)
    assert client.get(url("dataset_edit", "theirs")).status_code == 403


@pytest.mark.parametrize("rows", [3, 30])
def test_list_and_detail_query_counts_are_constant(
    client, viewer, owned_model, rows, django_assert_max_num_queries
):
    owner = UserFactory()
    datasets = [DatasetFactory(owner=owner) for _ in range(rows)]
    for i in range(rows):
        version = ModelVersionFactory(model=owned_model, version=f"1.{i}")
        version.dataset_links.create(dataset=datasets[0], role="trained_on")
    client.force_login(viewer)
    with django_assert_max_num_queries(10):
        assert client.get(LIST).status_code == 200
    with django_assert_max_num_queries(11):
        assert client.get(url("dataset_detail", datasets[0].slug)).status_code == 200


def _owner_choices(response) -> set[str]:
    return {user.username for user in response.context["form"].fields["owner"].queryset}


def test_the_owner_picker_offers_only_people_who_may_keep_a_datasheet(client, model_owner):
    from apps.core import roles

    for role in roles.ALL_ROLES:
        UserFactory(username=f"p.{role}", roles=[role])
    UserFactory(username="p.gone", roles=[roles.MODEL_OWNER], is_active=False)
    UserFactory(username="p.nobody")
    client.force_login(model_owner)

    offered = _owner_choices(client.get(CREATE))

    assert offered == {"p.model_owner", "p.validator", "p.admin", model_owner.username}
    viewer = UserFactory(username="p.viewer")
    response = client.post(CREATE, _data(viewer))
    assert response.status_code == 200
    assert "owner" in response.context["form"].errors
    assert not Dataset.objects.exists()


def test_a_dataset_still_owned_by_a_reader_keeps_its_owner_on_edit(client, model_owner, viewer):
    # Owned before the picker was limited; editing it keeps the owner valid and offered.
    dataset = DatasetFactory(slug="legacy", owner=viewer)
    dataset_edit = url("dataset_edit", "legacy")
    client.force_login(UserFactory(username="adm", roles=["admin"]))

    offered = _owner_choices(client.get(dataset_edit))

    assert viewer.username in offered and "adm" in offered
    data = _data(viewer, known_gaps="Winter weeks missing.")
    data.pop("slug")
    assert client.post(dataset_edit, data).status_code == 302
    dataset.refresh_from_db()
    assert dataset.owner == viewer and dataset.known_gaps == "Winter weeks missing."
