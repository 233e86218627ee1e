"""The new review and new finding forms' model box: a type-ahead by slug, never a list of
the inventory."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.reviews.models import Finding, Review
from tests.factories import RegisteredModelFactory

pytestmark = pytest.mark.django_db
FORMS = ("reviews:review_create", "reviews:finding_create")


@pytest.mark.parametrize("name", FORMS)
def test_the_form_never_lists_the_inventory(
    client, validator, model_owner, business_owner, owned_model, name, django_assert_max_num_queries
):
    client.force_login(validator)
    url = reverse(name)
    # The same owners throughout: the finding form's owner box lists the users (not models).
    owners = {"owner": model_owner, "business_owner": business_owner}
    RegisteredModelFactory.create_batch(5, **owners)
    few = client.get(url, {"model": owned_model.slug}).content
    RegisteredModelFactory.create_batch(55, **owners)
    with django_assert_max_num_queries(12):
        many = client.get(url, {"model": owned_model.slug}).content
    assert len(many) == len(few)
    page = many.decode()
    assert 'value="owned-model"' in page and 'data-suggest-url="' in page
    assert "<option" not in page.split('name="model"')[1].split("</datalist>")[0]


def test_a_retired_or_unknown_model_is_refused_by_slug_for_a_review(client, validator):
    RegisteredModelFactory(slug="old-model", status="retired")
    client.force_login(validator)
    for slug in ("old-model", "no-such-model"):
        response = client.post(reverse("reviews:review_create"), {"model": slug, "scope": "x"})
        assert response.context["form"].errors["model"] == [
            f"No model you may review has the slug “{slug}”."
        ]
    assert not Review.objects.exists()


def test_an_unknown_model_is_refused_by_slug_for_a_finding(client, validator, owned_model):
    client.force_login(validator)
    response = client.post(
        reverse("reviews:finding_create"),
        {"model": "no-such-model", "title": "x", "severity": "low", "owner": validator.pk},
    )
    assert response.status_code == 200
    assert response.context["form"].errors["model"] == [
        "No model you may record a finding on has the slug “no-such-model”."
    ]
    assert not Finding.objects.exists()


def test_a_finding_is_recorded_on_the_model_typed(client, validator, owned_model):
    client.force_login(validator)
    response = client.post(
        reverse("reviews:finding_create"),
        {
            "model": "owned-model",
            "title": "Drift unmonitored",
            "severity": "medium",
            "description": "d",
            "owner": validator.pk,
            "due_date": "2030-01-31",
        },
    )
    assert response.status_code == 302, response.context["form"].errors
    assert Finding.objects.get().model == owned_model
