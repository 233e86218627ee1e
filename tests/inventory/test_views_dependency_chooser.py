"""The new-dependency form's upstream box: a type-ahead by slug, never a list of the
inventory."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.inventory.models import ModelDependency
from tests.factories import RegisteredModelFactory

pytestmark = pytest.mark.django_db


def _url(slug: str = "owned-model") -> str:
    return reverse("inventory:dependency_create", kwargs={"slug": slug})


def test_the_dependency_form_never_lists_the_inventory(
    client, admin_user, owned_model, django_assert_max_num_queries
):
    client.force_login(admin_user)
    RegisteredModelFactory.create_batch(5)
    few = client.get(_url()).content
    RegisteredModelFactory.create_batch(55)
    with django_assert_max_num_queries(12):
        many = client.get(_url()).content
    assert len(many) == len(few)
    page = many.decode()
    assert 'name="upstream"' in page and 'data-suggest-url="' in page
    assert "<option" not in page.split('name="upstream"')[1].split("</datalist>")[0]


def test_an_upstream_model_out_of_reach_is_refused_by_slug(
    client, model_owner, owned_model, foreign_model
):
    client.force_login(model_owner)
    for slug in ("foreign-model", "owned-model", "no-such-model"):
        response = client.post(_url(), {"upstream": slug})
        assert response.status_code == 200
        errors = response.context["form"].errors
        assert errors["upstream"] == [f"No other model you see has the slug “{slug}”."]
    assert not ModelDependency.objects.exists()
