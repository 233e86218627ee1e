"""The dataset choosers: a type-ahead endpoint, and version forms that hold only the chosen
datasets however many are registered."""

from __future__ import annotations

import hashlib
import re

import pytest
from django.urls import reverse

from apps.inventory import services
from apps.inventory.selectors import SUGGESTION_LIMIT
from tests.factories import DatasetFactory

pytestmark = pytest.mark.django_db

URL = reverse("inventory:dataset_suggest")
SHA = hashlib.sha256(b"artifact").hexdigest()


def _labels(client, q) -> list[str]:
    response = client.get(URL, {"q": q})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    return [row["label"] for row in response.json()["results"]]


def test_it_matches_name_slug_or_version_and_answers_ids(client, model_owner):
    loans = DatasetFactory(name="Loan applications", slug="loans-2024", version="2024-06")
    DatasetFactory(name="Parcel scans", slug="parcels", version="v3")
    client.force_login(model_owner)
    assert _labels(client, "LOAN") == ["Loan applications 2024-06"]
    assert _labels(client, "loans-20") == ["Loan applications 2024-06"]
    assert _labels(client, "v3") == ["Parcel scans v3"]
    assert _labels(client, "nothing like it") == []
    assert client.get(URL, {"q": "loan"}).json()["results"] == [
        {"value": loans.pk, "label": "Loan applications 2024-06"}
    ]


def test_no_term_answers_the_first_few_by_name_and_control_characters_nothing(client, model_owner):
    for name in ("Bravo", "Alpha", "Charlie"):
        DatasetFactory(name=name, version="")
    client.force_login(model_owner)
    assert _labels(client, "") == ["Alpha", "Bravo", "Charlie"]
    assert _labels(client, "Al\x00pha") == []


def test_it_answers_a_few_datasets_in_constant_queries(
    client, model_owner, django_assert_max_num_queries
):
    DatasetFactory.create_batch(SUGGESTION_LIMIT + 5, name="Applications")
    client.force_login(model_owner)
    with django_assert_max_num_queries(8):
        labels = _labels(client, "applic")
    assert len(labels) == SUGGESTION_LIMIT


def test_anonymous_users_sign_in_and_roleless_users_are_refused(client, outsider):
    assert client.get(URL, {"q": "x"}).status_code == 302
    client.force_login(outsider)
    assert client.get(URL, {"q": "x"}).status_code == 403


def _options(html: str, field: str) -> list[str]:
    match = re.search(rf'<select name="{field}"[^>]*>(.*?)</select>', html, re.S)
    assert match, f"no select named {field}"
    return re.findall(r'<option value="(\d+)"', match.group(1))


def test_the_version_form_lists_no_dataset_until_one_is_chosen(
    client, model_owner, owned_model, django_assert_max_num_queries
):
    DatasetFactory.create_batch(40)
    client.force_login(model_owner)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("inventory:version_create", args=["owned-model"]))
    html = response.content.decode()
    assert _options(html, "training_datasets") == []
    assert _options(html, "evaluation_datasets") == []
    assert f'data-suggest-url="{URL}"' in html
    assert 'data-choices="remote"' in html


def test_editing_a_version_holds_only_its_own_datasets(client, model_owner, owned_model):
    datasets = DatasetFactory.create_batch(30)
    train, test = datasets[3], datasets[17]
    services.model_version_register(
        actor=model_owner,
        model=owned_model,
        version="1.0",
        artifact_uri="s3://m",
        artifact_sha256=SHA,
        training_datasets=[train],
        evaluation_datasets=[test],
    )
    client.force_login(model_owner)
    html = client.get(
        reverse("inventory:version_edit", args=["owned-model", "1.0"])
    ).content.decode()
    assert _options(html, "training_datasets") == [str(train.pk)]
    assert _options(html, "evaluation_datasets") == [str(test.pk)]
    assert re.search(rf'<option value="{train.pk}"[^>]* selected>', html)


def test_a_refused_post_keeps_the_chosen_datasets_and_names_a_bad_one(
    client, model_owner, owned_model
):
    keep = DatasetFactory()
    client.force_login(model_owner)
    response = client.post(
        reverse("inventory:version_create", args=["owned-model"]),
        {
            "version": "1.0",
            "artifact_uri": "s3://m",
            "artifact_sha256": "not-a-hash",
            "training_datasets": [keep.pk],
            "evaluation_datasets": ["999999"],
        },
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert _options(html, "training_datasets") == [str(keep.pk)]
    assert _options(html, "evaluation_datasets") == []
    assert "999999 is not one of the available choices" in html
    response = client.post(
        reverse("inventory:version_create", args=["owned-model"]),
        {"version": "1.0", "artifact_uri": "s3://m", "training_datasets": ["abc"]},
    )
    assert response.status_code == 200
    assert _options(response.content.decode(), "training_datasets") == []
    assert "“abc” is not a valid value." in response.content.decode()
