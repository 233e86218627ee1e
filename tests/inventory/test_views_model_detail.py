"""The model page and its tabs: who sees what, 404 outside reach, constant query counts."""

from __future__ import annotations

import hashlib

import pytest
from django.urls import reverse

from apps.inventory import services
from tests.factories import (
    BusinessUnitFactory,
    DatasetFactory,
    ModelVersionFactory,
    RegisteredModelFactory,
    UserFactory,
)

TABS = ("model_detail", "model_versions", "model_lineage", "model_risk", "model_history")
ANSWERS = {
    "financial_exposure": "medium",
    "customer_impact": "high",
    "regulatory_use": "low",
    "automation": "medium",
    "complexity": "medium",
}


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def url(name: str, slug: str = "owned-model") -> str:
    return reverse(f"inventory:{name}", kwargs={"slug": slug})


@pytest.mark.parametrize("tab", TABS)
def test_anonymous_users_go_to_login(client, owned_model, tab):
    response = client.get(url(tab))
    assert response.status_code == 302
    assert reverse("accounts:login") in response["Location"]


@pytest.mark.parametrize("tab", TABS)
def test_users_without_a_role_are_refused(client, outsider, owned_model, tab):
    client.force_login(outsider)
    assert client.get(url(tab)).status_code == 403


@pytest.mark.parametrize("tab", TABS[:4])
@pytest.mark.parametrize(
    "persona", ["admin_user", "validator", "business_owner", "model_owner", "auditor", "viewer"]
)
def test_every_role_named_on_the_model_sees_its_tabs(client, request, owned_model, tab, persona):
    client.force_login(request.getfixturevalue(persona))
    response = client.get(url(tab))
    assert response.status_code == 200
    assert b"Owned model" in response.content


@pytest.mark.parametrize("tab", TABS)
@pytest.mark.parametrize("persona", ["model_owner", "business_owner"])
def test_a_model_outside_reach_is_not_found(client, request, foreign_model, tab, persona):
    client.force_login(request.getfixturevalue(persona))
    assert client.get(url(tab, "foreign-model")).status_code == 404


def test_an_unknown_model_is_not_found(client, viewer):
    client.force_login(viewer)
    assert client.get(url("model_detail", "no-such-model")).status_code == 404


@pytest.mark.parametrize("persona", ["admin_user", "validator", "auditor"])
def test_audit_readers_see_the_history_tab(client, request, owned_model, persona):
    client.force_login(request.getfixturevalue(persona))
    assert client.get(url("model_history")).status_code == 200
    assert url("model_history").encode() in client.get(url("model_detail")).content


@pytest.mark.parametrize("persona", ["viewer", "model_owner", "business_owner"])
def test_others_get_no_history_tab(client, request, owned_model, persona):
    client.force_login(request.getfixturevalue(persona))
    assert client.get(url("model_history")).status_code == 403
    assert url("model_history").encode() not in client.get(url("model_detail")).content


def test_the_overview_groups_every_inventory_field(client, viewer, owned_model):
    client.force_login(viewer)
    content = client.get(url("model_detail")).content.decode()
    for heading in (
        "Purpose and use",
        "Accountability",
        "Technical",
        "Risk and regulation",
        "Lifecycle",
    ):
        assert heading in content
    for label in (
        "Purpose / intended use",
        "Out of scope uses",
        "Human oversight contact",
        "EU AI Act class",
        "Annex III point",
        "Next review date",
        "Retirement reason",
    ):
        assert label in content


def test_the_overview_escapes_user_text(client, viewer):
    RegisteredModelFactory(slug="xss", purpose="<img src=x onerror=alert(1)>")
    client.force_login(viewer)
    content = client.get(url("model_detail", "xss")).content
    assert b"<img src=x" not in content
    assert b"&lt;img src=x onerror=alert(1)&gt;" in content


def test_htmx_tab_requests_get_only_the_tab(client, viewer, owned_model):
    client.force_login(viewer)
    response = client.get(url("model_versions"), HTTP_HX_REQUEST="true")
    assert b"<html" not in response.content
    assert b'aria-current="page">Versions' in response.content


def test_the_history_tab_shows_the_models_audit_events(client, validator, owned_model):
    services.registered_model_update(
        actor=validator, model=owned_model, purpose="Rank parcels by delay risk."
    )
    client.force_login(validator)
    content = client.get(url("model_history")).content.decode()
    assert "Rank parcels by delay risk." in content
    assert "val.validator" in content


def test_the_transition_form_offers_only_allowed_targets(client, model_owner, owned_model):
    client.force_login(model_owner)
    form = client.get(url("model_detail")).context["transition_form"]
    assert [value for value, _ in form.fields["target"].choices] == ["validation", "retired"]


def _rich_model(rows: int):
    """A model with ``rows`` versions, datasets, deployments and audit events."""
    owner = UserFactory(roles=["model_owner"])
    admin = UserFactory(roles=["admin"])
    unit = BusinessUnitFactory()
    model = RegisteredModelFactory(
        slug="rich", owner=owner, business_owner=owner, business_unit=unit
    )
    upstream = RegisteredModelFactory(owner=owner, business_owner=owner, business_unit=unit)
    services.model_dependency_create(actor=admin, upstream=upstream, downstream=model)
    datasets = [DatasetFactory(owner=owner) for _ in range(3)]
    for i in range(rows):
        version = services.model_version_register(
            actor=owner,
            model=model,
            version=f"1.{i}.0",
            artifact_uri=f"s3://m/{i}",
            artifact_sha256=hashlib.sha256(str(i).encode()).hexdigest(),
            training_datasets=[datasets[i % 3]],
            evaluation_datasets=[datasets[(i + 1) % 3]],
        )
        services.deployment_create(actor=owner, version=version, environment="staging")
        services.registered_model_update(actor=admin, model=model, purpose=f"Purpose {i}")
    services.risk_assessment_submit(
        actor=admin, model=model, answers=ANSWERS, eu_ai_act_class="minimal"
    )
    return model


BUDGETS = {
    "model_detail": 11,
    "model_versions": 13,
    "model_lineage": 12,
    "model_risk": 12,
    "model_history": 13,
}


@pytest.mark.parametrize("tab", TABS)
@pytest.mark.parametrize("rows", [3, 30])
def test_tab_query_counts_do_not_grow_with_rows(
    client, validator, tab, rows, django_assert_max_num_queries
):
    _rich_model(rows)
    client.force_login(validator)
    with django_assert_max_num_queries(BUDGETS[tab]):
        response = client.get(url(tab, "rich"))
    assert response.status_code == 200


def test_versions_with_dots_and_plus_resolve(client, viewer, owned_model):
    ModelVersionFactory(model=owned_model, version="2.0.0-rc.1+build.7")
    client.force_login(viewer)
    target = reverse(
        "inventory:version_detail", kwargs={"slug": "owned-model", "version": "2.0.0-rc.1+build.7"}
    )
    assert client.get(target).status_code == 200
