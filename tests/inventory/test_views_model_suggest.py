"""The model choosers' type-ahead endpoint: a few visible models matching what was typed."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.inventory.selectors import SUGGESTION_LIMIT
from tests.factories import RegisteredModelFactory

pytestmark = pytest.mark.django_db

URL = reverse("inventory:model_suggest")


def _slugs(client, q) -> list[str]:
    response = client.get(URL, {"q": q})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    return [row["slug"] for row in response.json()["results"]]


def test_it_matches_names_and_slugs_by_substring(client, validator, owned_model, foreign_model):
    client.force_login(validator)
    assert _slugs(client, "owned") == ["owned-model"]
    assert _slugs(client, "FOREIGN MOD") == ["foreign-model"]
    assert _slugs(client, "-model") == ["foreign-model", "owned-model"]
    row = client.get(URL, {"q": "owned"}).json()["results"][0]
    assert row == {"slug": "owned-model", "name": "Owned model"}


def test_it_answers_nothing_for_no_term_or_control_characters(client, validator, owned_model):
    client.force_login(validator)
    assert _slugs(client, "") == []
    assert _slugs(client, "   ") == []
    assert _slugs(client, "own\x00ed") == []


def test_it_never_names_a_model_out_of_reach(client, model_owner, owned_model, foreign_model):
    client.force_login(model_owner)
    assert _slugs(client, "model") == ["owned-model"]
    assert _slugs(client, "foreign") == []


def test_anonymous_users_sign_in_and_roleless_users_are_refused(client, outsider, owned_model):
    assert client.get(URL, {"q": "owned"}).status_code == 302
    client.force_login(outsider)
    assert client.get(URL, {"q": "owned"}).status_code == 403


def test_it_answers_a_few_models_in_constant_queries(
    client, validator, django_assert_max_num_queries
):
    RegisteredModelFactory.create_batch(SUGGESTION_LIMIT + 5, name="Credit scorer")
    client.force_login(validator)
    with django_assert_max_num_queries(8):
        slugs = _slugs(client, "credit")
    assert len(slugs) == SUGGESTION_LIMIT
