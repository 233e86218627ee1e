"""Admin forms at a bank's size: a reference to a model or a dataset is a search box (the admin's
autocomplete), never a select listing the whole inventory or catalogue, and what is picked is
still saved through the services."""

from __future__ import annotations

import pytest

from apps.inventory.models import ModelVersion
from tests.factories import DatasetFactory, RegisteredModelFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fast_password_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/admin/monitoring/metricsource/add/", "model"),
        ("/admin/inventory/modelversion/add/", "training_datasets"),
        ("/admin/inventory/modelversion/add/", "evaluation_datasets"),
    ],
)
def test_an_add_form_lists_no_models_or_datasets_however_many_there_are(
    client, admin_user, url, field
):
    models = RegisteredModelFactory.create_batch(3, name="Inventory member")
    datasets = DatasetFactory.create_batch(3)
    client.force_login(admin_user)

    page = client.get(url).content.decode()

    assert f'name="{field}"' in page and "admin-autocomplete" in page
    for obj in (*models, *datasets):
        assert f'value="{obj.pk}"' not in page, obj


def test_the_dataset_search_answers_as_one_types(client, admin_user):
    DatasetFactory(name="Card payments 2025", slug="card-payments-2025")
    DatasetFactory(name="Mortgage book", slug="mortgage-book")
    client.force_login(admin_user)

    answer = client.get(
        "/admin/autocomplete/",
        {
            "term": "payments",
            "app_label": "inventory",
            "model_name": "modelversion",
            "field_name": "datasets",
        },
    ).json()

    assert [row["text"].split()[:3] for row in answer["results"]] == [["Card", "payments", "2025"]]


def test_a_version_added_in_the_admin_keeps_its_dataset_lineage(client, admin_user):
    model = RegisteredModelFactory()
    train, holdout = DatasetFactory(), DatasetFactory()
    client.force_login(admin_user)

    response = client.post(
        "/admin/inventory/modelversion/add/",
        {
            "model": model.pk,
            "version": "1.0.0",
            "description": "",
            "artifact_uri": "s3://models/m/1.0.0",
            "artifact_sha256": "a" * 64,
            "code_commit": "",
            "hyperparameters": "{}",
            "evaluation_metrics": "{}",
            "training_datasets": [train.pk],
            "evaluation_datasets": [holdout.pk],
        },
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    version = ModelVersion.objects.get(model=model, version="1.0.0")
    assert {(link.dataset_id, link.role) for link in version.dataset_links.all()} == {
        (train.pk, "trained_on"),
        (holdout.pk, "evaluated_on"),
    }
