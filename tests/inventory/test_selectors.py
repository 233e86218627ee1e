"""Inventory reads: every list is restricted to what the user may see; the rest is 404."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import Http404

from apps.inventory import selectors
from tests.factories import (
    DatasetFactory,
    ModelVersionFactory,
    RegisteredModelFactory,
    UserFactory,
)


@pytest.fixture
def developed_model(model_owner):
    """A model ``model_owner`` develops but does not own."""
    model = RegisteredModelFactory(slug="developed-model", name="Developed model")
    model.developers.add(model_owner)
    return model


@pytest.fixture
def inventory(owned_model, foreign_model, developed_model):
    return {owned_model.slug, foreign_model.slug, developed_model.slug}


def _slugs(user) -> set[str]:
    return set(selectors.model_list(user=user).values_list("slug", flat=True))


@pytest.mark.parametrize("persona", ["admin_user", "validator", "auditor", "viewer"])
def test_oversight_roles_see_the_whole_inventory(persona, request, inventory):
    assert _slugs(request.getfixturevalue(persona)) == inventory


def test_a_model_owner_sees_what_they_own_or_develop(model_owner, inventory):
    assert _slugs(model_owner) == {"owned-model", "developed-model"}


def test_a_business_owner_sees_the_models_they_are_named_on(business_owner, inventory):
    assert _slugs(business_owner) == {"owned-model"}


def test_a_user_with_both_owner_roles_sees_both_sets(inventory, foreign_model):
    both = UserFactory(username="two.hats", roles=["model_owner", "business_owner"])
    mine = RegisteredModelFactory(slug="mine", owner=both)
    foreign_model.business_owner = both
    foreign_model.save()
    assert _slugs(both) == {mine.slug, foreign_model.slug}


def test_no_role_inactive_or_anonymous_sees_nothing(outsider, validator, inventory):
    validator.is_active = False
    validator.save()
    for user in (outsider, AnonymousUser(), validator):
        assert _slugs(user) == set()
        assert not selectors.dataset_list(user=user).exists()


def test_the_list_has_no_duplicates_for_many_developers(model_owner, developed_model):
    developed_model.developers.add(UserFactory(), UserFactory())
    assert selectors.model_list(user=model_owner).count() == 1


def test_model_get_answers_404_outside_reach(model_owner, business_owner, outsider, inventory):
    assert selectors.model_get(user=model_owner, slug="owned-model").slug == "owned-model"
    for user, slug in (
        (model_owner, "foreign-model"),
        (business_owner, "developed-model"),
        (outsider, "owned-model"),
        (model_owner, "does-not-exist"),
    ):
        with pytest.raises(Http404):
            selectors.model_get(user=user, slug=slug)


def test_versions_deployments_and_usage_follow_model_visibility(
    model_owner, validator, owned_model, foreign_model
):
    dataset = DatasetFactory()
    mine = ModelVersionFactory(model=owned_model, version="1.0")
    theirs = ModelVersionFactory(model=foreign_model, version="1.0")
    mine.datasets.add(dataset, through_defaults={"role": "trained_on"})
    theirs.datasets.add(dataset, through_defaults={"role": "trained_on"})

    assert list(selectors.version_list(user=model_owner)) == [mine]
    assert set(selectors.version_list(user=validator)) == {mine, theirs}
    assert selectors.version_get(user=model_owner, model=owned_model, version="1.0") == mine
    with pytest.raises(Http404):
        selectors.version_get(user=model_owner, model=foreign_model, version="1.0")
    usage = selectors.dataset_usage(user=model_owner, dataset=dataset)
    assert [link.version for link in usage] == [mine]


def test_datasets_are_visible_to_every_role_but_unknown_ones_are_404(viewer):
    dataset = DatasetFactory(slug="shipments")
    assert selectors.dataset_get(user=viewer, slug="shipments") == dataset
    with pytest.raises(Http404):
        selectors.dataset_get(user=viewer, slug="nope")


def test_lineage_hides_feeds_from_models_out_of_reach(model_owner, owned_model, foreign_model):
    from apps.inventory.models import ModelDependency

    ModelDependency.objects.create(
        upstream=foreign_model, downstream=owned_model, created_by=model_owner
    )
    graph = selectors.model_lineage(user=model_owner, model=owned_model)
    assert "model:foreign-model" not in {node["id"] for node in graph["nodes"]}
    assert selectors.dependency_list(user=model_owner).count() == 0
