"""API: /api/v1/models/ — list, read, register, edit, delete, transition, lineage."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from apps.audit.models import AuditEvent
from apps.core import roles
from apps.inventory import accountability
from apps.inventory.choices import LifecycleStatus
from apps.inventory.models import RegisteredModel
from tests.factories import (
    BusinessUnitFactory,
    DatasetFactory,
    ModelVersionFactory,
    RegisteredModelFactory,
)
from tests.inventory.seats import MISFITS, SEATS, misfit, two_hats

pytestmark = pytest.mark.django_db

EVERYONE = ["admin_user", "validator", "business_owner", "model_owner", "auditor", "viewer"]


def api(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_login(user)
    return client


def list_url() -> str:
    return reverse("api:model-list")


def detail_url(slug: str) -> str:
    return reverse("api:model-detail", kwargs={"slug": slug})


def slugs(response) -> list[str]:
    return [row["slug"] for row in response.json()["results"]]


# --- list ---------------------------------------------------------------------------------


def test_it_answers_401_to_anonymous_requests(owned_model):
    response = api().get(list_url())
    assert response.status_code == 401
    assert response.json()["detail"]


def test_it_answers_403_to_users_without_a_role(outsider, owned_model):
    response = api(outsider).get(list_url())
    assert response.status_code == 403
    assert "no mlgov role" in response.json()["detail"]


@pytest.mark.parametrize("persona", ["admin_user", "validator", "auditor", "viewer"])
def test_oversight_roles_list_every_model(request, persona, owned_model, foreign_model):
    response = api(request.getfixturevalue(persona)).get(list_url())
    assert response.status_code == 200
    assert slugs(response) == ["foreign-model", "owned-model"]


def test_a_model_owner_lists_only_models_they_own_or_develop(
    model_owner, owned_model, foreign_model
):
    developed = RegisteredModelFactory(slug="developed", name="Developed")
    developed.developers.add(model_owner)
    response = api(model_owner).get(list_url())
    assert slugs(response) == ["developed", "owned-model"]


def test_a_business_owner_lists_only_models_naming_them(business_owner, owned_model, foreign_model):
    assert slugs(api(business_owner).get(list_url())) == ["owned-model"]


def test_the_list_uses_the_inventory_filters_and_ordering(validator):
    logistics = BusinessUnitFactory(code="logistics", name="Logistics")
    RegisteredModelFactory(slug="a-late", name="A late", business_unit=logistics, risk_tier=1)
    RegisteredModelFactory(slug="b-other", name="B other", risk_tier=3)
    RegisteredModelFactory(slug="c-late", name="C late", business_unit=logistics, risk_tier=2)
    client = api(validator)
    assert slugs(client.get(list_url(), {"business_unit": "logistics"})) == ["a-late", "c-late"]
    assert slugs(client.get(list_url(), {"risk_tier": [1, 3]})) == ["a-late", "b-other"]
    assert slugs(client.get(list_url(), {"q": "late", "ordering": "-name"})) == [
        "c-late",
        "a-late",
    ]


def test_an_invalid_filter_value_is_a_400_naming_the_filter(validator):
    response = api(validator).get(list_url(), {"status": "flying"})
    assert response.status_code == 400
    assert "status" in response.json()


def test_the_list_is_paginated(validator):
    RegisteredModelFactory.create_batch(3)
    body = api(validator).get(list_url(), {"page_size": 2}).json()
    assert body["count"] == 3
    assert len(body["results"]) == 2
    assert body["next"]


def test_rows_show_people_by_username_and_units_by_code(validator, owned_model, model_owner):
    owned_model.developers.add(model_owner)
    row = api(validator).get(list_url()).json()["results"][0]
    assert row["owner"] == "mo.owner"
    assert row["business_owner"] == "bea.business"
    assert row["business_unit"] == owned_model.business_unit.code
    assert row["business_unit_name"] == owned_model.business_unit.name
    assert row["status"] == "development"
    assert row["status_label"] == "Development"
    assert row["url"].endswith("/api/v1/models/owned-model/")
    assert row["web_url"] == owned_model.get_absolute_url()
    # The full record (developers among it) is the detail's, one link away.
    detail = api(validator).get(row["url"]).json()
    assert detail["developers"] == ["mo.owner"]


def test_list_rows_are_lean_and_the_detail_keeps_every_field(validator, owned_model):
    row = api(validator).get(list_url()).json()["results"][0]
    detail = api(validator).get(detail_url(owned_model.slug)).json()
    assert "purpose" not in row and "developers" not in row and "limitations" not in row
    assert {"purpose", "developers", "limitations", "risk_tier_rationale"} <= detail.keys()
    # What the row does show, it shows as the detail does.
    for name, value in row.items():
        assert detail[name] == value, name


def test_fields_keeps_only_the_fields_asked_for_and_the_link(validator, owned_model):
    row = api(validator).get(list_url(), {"fields": "name,status"}).json()["results"][0]
    assert set(row) == {"url", "slug", "name", "status"}
    assert row["name"] == owned_model.name


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx)


def test_the_list_costs_the_same_queries_for_3_or_30_models(
    django_assert_max_num_queries, validator, model_owner, business_owner
):
    client = api(validator)
    unit = BusinessUnitFactory()

    def add(n):
        for model in RegisteredModelFactory.create_batch(
            n, owner=model_owner, business_owner=business_owner, business_unit=unit
        ):
            model.developers.add(model_owner, business_owner)

    add(3)
    few = _queries(client, list_url())
    add(27)
    with django_assert_max_num_queries(few):
        response = client.get(list_url())
    assert response.json()["count"] == 30
    assert few <= 10


def test_the_detail_costs_a_constant_number_of_queries(
    django_assert_max_num_queries, model_owner, owned_model
):
    owned_model.developers.add(model_owner)
    client = api(model_owner)
    with django_assert_max_num_queries(8):
        assert client.get(detail_url("owned-model")).status_code == 200


# --- retrieve -----------------------------------------------------------------------------


@pytest.mark.parametrize("persona", EVERYONE)
def test_everyone_named_or_overseeing_reads_the_model(request, persona, owned_model):
    response = api(request.getfixturevalue(persona)).get(detail_url("owned-model"))
    assert response.status_code == 200
    assert response.json()["name"] == "Owned model"


@pytest.mark.parametrize("persona", ["model_owner", "business_owner"])
def test_a_model_outside_reach_answers_404(request, persona, foreign_model):
    response = api(request.getfixturevalue(persona)).get(detail_url("foreign-model"))
    assert response.status_code == 404


def test_an_unknown_slug_answers_404(validator):
    assert api(validator).get(detail_url("no-such-model")).status_code == 404


# --- create -------------------------------------------------------------------------------


def _new_model(business_owner, **extra) -> dict:
    unit = BusinessUnitFactory(code="finance-ops", name="Finance operations")
    return {
        "slug": "payment-anomaly",
        "name": "Payment anomaly prioritiser",
        "purpose": "Rank payments for human review.",
        "business_unit": unit.code,
        "business_owner": business_owner.username,
        **extra,
    }


@pytest.mark.parametrize("persona", ["admin_user", "model_owner"])
def test_admins_and_model_owners_register_models(request, persona, business_owner, model_owner):
    user = request.getfixturevalue(persona)
    payload = _new_model(business_owner, developers=[model_owner.username])
    response = api(user).post(list_url(), payload, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["slug"] == "payment-anomaly"
    assert body["owner"] == user.username  # defaults to the caller
    assert body["developers"] == ["mo.owner"]
    assert body["created_by"] == user.username
    event = AuditEvent.objects.get(object_type="inventory.registeredmodel", action="create")
    assert event.actor == user
    assert event.changes["slug"]["after"] == "payment-anomaly"


@pytest.mark.parametrize("persona", ["validator", "business_owner", "auditor", "viewer"])
def test_other_roles_may_not_register_models(request, persona, business_owner):
    payload = _new_model(business_owner)
    response = api(request.getfixturevalue(persona)).post(list_url(), payload, format="json")
    assert response.status_code == 403
    assert not RegisteredModel.objects.exists()
    assert not AuditEvent.objects.exists()


def test_a_missing_or_bad_field_is_named_and_nothing_is_written(model_owner, business_owner):
    payload = _new_model(business_owner, slug="Not A Slug", business_unit="nowhere")
    del payload["purpose"]
    response = api(model_owner).post(list_url(), payload, format="json")
    assert response.status_code == 400
    errors = response.json()
    assert set(errors) >= {"slug", "purpose", "business_unit"}
    assert not RegisteredModel.objects.exists()
    assert not AuditEvent.objects.exists()


def test_an_unknown_username_is_named(model_owner, business_owner):
    payload = _new_model(business_owner, developers=["nobody"])
    response = api(model_owner).post(list_url(), payload, format="json")
    assert response.status_code == 400
    assert "developers" in response.json()


def test_a_duplicate_slug_is_a_field_error_from_the_service(model_owner, business_owner):
    RegisteredModelFactory(slug="payment-anomaly")
    response = api(model_owner).post(list_url(), _new_model(business_owner), format="json")
    assert response.status_code == 400
    assert "already exists" in response.json()["slug"][0]
    assert RegisteredModel.objects.count() == 1
    assert not AuditEvent.objects.exists()


def test_read_only_fields_are_ignored_on_create(model_owner, business_owner):
    payload = _new_model(business_owner, status="production", risk_tier=3)
    response = api(model_owner).post(list_url(), payload, format="json")
    assert response.status_code == 201
    model = RegisteredModel.objects.get()
    assert model.status == LifecycleStatus.DEVELOPMENT
    assert model.risk_tier is None


# --- update -------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["admin_user", "validator", "model_owner", "business_owner"])
def test_editors_change_the_purpose(request, persona, owned_model):
    user = request.getfixturevalue(persona)
    response = api(user).patch(
        detail_url("owned-model"), {"purpose": "A sharper purpose."}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["purpose"] == "A sharper purpose."
    event = AuditEvent.objects.get(action="update")
    assert event.actor == user
    assert event.changes["purpose"]["after"] == "A sharper purpose."


@pytest.mark.parametrize("persona", ["auditor", "viewer"])
def test_read_only_roles_get_403_on_edit(request, persona, owned_model):
    response = api(request.getfixturevalue(persona)).patch(
        detail_url("owned-model"), {"purpose": "x"}, format="json"
    )
    assert response.status_code == 403
    assert not AuditEvent.objects.exists()


def test_editing_a_model_outside_reach_answers_404(model_owner, foreign_model):
    response = api(model_owner).patch(detail_url("foreign-model"), {"purpose": "x"}, format="json")
    assert response.status_code == 404


def test_a_model_owner_cannot_reassign_the_business_owner(model_owner, owned_model, viewer):
    response = api(model_owner).patch(
        detail_url("owned-model"), {"business_owner": viewer.username}, format="json"
    )
    assert response.status_code == 400
    assert "business_owner" in response.json()
    owned_model.refresh_from_db()
    assert owned_model.business_owner.username == "bea.business"
    assert not AuditEvent.objects.exists()


def test_the_slug_cannot_be_renamed(validator, owned_model):
    response = api(validator).patch(detail_url("owned-model"), {"slug": "renamed"}, format="json")
    assert response.status_code == 200
    assert response.json()["slug"] == "owned-model"


def test_a_full_update_needs_the_required_fields(validator, owned_model):
    response = api(validator).put(detail_url("owned-model"), {"name": "Renamed"}, format="json")
    assert response.status_code == 400
    assert {"purpose", "business_unit", "business_owner"} <= set(response.json())


# --- who may be named (apps/inventory/accountability.py) -----------------------------------


def _people(slug: str) -> tuple:
    model = RegisteredModel.objects.get(slug=slug)
    return model.owner_id, model.business_owner_id, model.validator_id


def _refused_on(response, field: str, person) -> None:
    """A 400 naming ``field``: the seat's rule, or (an inactive account) the unknown name."""
    assert response.status_code == 400, response.json()
    body = response.json()
    [message] = body[field]
    seat = accountability.SINGLE_SEATS[field]
    assert (
        message == f"{person} cannot be the model's {seat.title}: choose {seat.who}."
        if person.is_active
        else person.username in message
    )


@pytest.mark.parametrize("kind", MISFITS)
@pytest.mark.parametrize("field", SEATS)
def test_registering_names_only_people_who_fit_their_seats(admin_user, business_owner, field, kind):
    person = misfit(field, kind)
    payload = {**_new_model(business_owner), field: person.username}
    response = api(admin_user).post(list_url(), payload, format="json")
    _refused_on(response, field, person)
    assert not RegisteredModel.objects.exists()
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize("kind", MISFITS)
@pytest.mark.parametrize("field", SEATS)
def test_an_edit_names_only_people_who_fit_their_seats(admin_user, owned_model, field, kind):
    person = misfit(field, kind)
    before = _people("owned-model")
    response = api(admin_user).patch(
        detail_url("owned-model"), {field: person.username, "purpose": "Too."}, format="json"
    )
    _refused_on(response, field, person)
    assert _people("owned-model") == before
    assert RegisteredModel.objects.get(slug="owned-model").purpose != "Too."
    assert not AuditEvent.objects.exists()


def test_the_business_owner_cannot_own_the_model(business_owner):
    both = two_hats(roles.MODEL_OWNER, roles.BUSINESS_OWNER)
    response = api(both).post(list_url(), _new_model(both), format="json")
    assert response.status_code == 400
    assert response.json()["business_owner"][0].startswith(
        "The business owner must be someone other than the model's owner"
    )
    assert not RegisteredModel.objects.exists()


def test_a_full_update_keeps_people_named_before_the_rule(validator, viewer, auditor):
    RegisteredModelFactory(slug="legacy", owner=viewer, business_owner=auditor)
    body = api(validator).get(detail_url("legacy")).json()
    body["purpose"] = "Reworded."
    response = api(validator).put(detail_url("legacy"), body, format="json")
    assert response.status_code == 200, response.json()
    assert (response.json()["owner"], response.json()["business_owner"]) == (
        viewer.username,
        auditor.username,
    )


# --- destroy ------------------------------------------------------------------------------


def test_an_admin_deletes_a_model_registered_by_mistake(admin_user, owned_model):
    response = api(admin_user).delete(detail_url("owned-model"))
    assert response.status_code == 204
    assert not RegisteredModel.objects.exists()
    assert AuditEvent.objects.get().action == "delete"


@pytest.mark.parametrize("persona", ["validator", "model_owner", "business_owner", "auditor"])
def test_only_admins_delete_models(request, persona, owned_model):
    response = api(request.getfixturevalue(persona)).delete(detail_url("owned-model"))
    assert response.status_code == 403
    assert RegisteredModel.objects.exists()


def test_a_model_with_versions_cannot_be_deleted(admin_user, owned_model):
    ModelVersionFactory(model=owned_model)
    response = api(admin_user).delete(detail_url("owned-model"))
    assert response.status_code == 400
    assert "retire it instead" in response.json()["detail"]
    assert RegisteredModel.objects.exists()


# --- transition ---------------------------------------------------------------------------


def transition_url(slug: str) -> str:
    return reverse("api:model-transition", kwargs={"slug": slug})


@pytest.mark.parametrize("persona", ["admin_user", "validator", "model_owner"])
def test_it_moves_a_model_to_validation(request, persona, owned_model):
    response = api(request.getfixturevalue(persona)).post(
        transition_url("owned-model"), {"target": "validation"}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "validation"
    assert AuditEvent.objects.get().action == "transition"


@pytest.mark.parametrize("persona", ["business_owner", "auditor", "viewer"])
def test_others_may_not_transition(request, persona, owned_model):
    response = api(request.getfixturevalue(persona)).post(
        transition_url("owned-model"), {"target": "validation"}, format="json"
    )
    assert response.status_code == 403


def test_an_illegal_transition_is_refused_with_the_reason(validator, owned_model):
    owned_model.status = LifecycleStatus.PRODUCTION
    owned_model.save()
    response = api(validator).post(
        transition_url("owned-model"), {"target": "development", "reason": "Rework."}, format="json"
    )
    assert response.status_code == 400
    assert "cannot move to Development" in response.json()["status"][0]
    owned_model.refresh_from_db()
    assert owned_model.status == LifecycleStatus.PRODUCTION
    assert not AuditEvent.objects.exists()


def test_retiring_through_the_api_is_signed_with_the_password(validator, owned_model, settings):
    """As an approval decision through the API: no password or a wrong one 400, a locked
    account 429; the right one retires the model."""
    from tests.approvals.helpers import PASSWORD

    settings.MLGOV_LOCKOUT_RULES = [(("username",), 3, 15)]
    url = transition_url("owned-model")
    body = {"target": "retired", "reason": "Abandoned."}
    for password in ("", "wrong"):
        response = api(validator).post(url, {**body, "password": password}, format="json")
        assert response.status_code == 400
        assert "password is not correct" in response.json()["password"][0]
    assert RegisteredModel.objects.get().status == LifecycleStatus.DEVELOPMENT
    response = api(validator).post(url, {**body, "password": PASSWORD}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "retired"
    other = transition_url(RegisteredModelFactory(owner=owned_model.owner).slug)
    for _ in range(3):
        api(validator).post(other, {**body, "password": "wrong"}, format="json")
    response = api(validator).post(other, {**body, "password": PASSWORD}, format="json")
    assert response.status_code == 429


@pytest.mark.parametrize(
    ("target", "pointer"),
    [
        ("production", "request a promotion"),
        ("approved", "request a validation sign-off"),
    ],
)
def test_a_sign_off_move_is_refused_with_a_pointer_to_the_request(
    validator, owned_model, target, pointer
):
    response = api(validator).post(transition_url("owned-model"), {"target": target}, format="json")
    assert response.status_code == 400
    assert pointer in response.json()["status"][0]
    owned_model.refresh_from_db()
    assert owned_model.status == LifecycleStatus.DEVELOPMENT
    assert not AuditEvent.objects.exists()


def test_an_unknown_target_is_named(validator, owned_model):
    response = api(validator).post(transition_url("owned-model"), {"target": "x"}, format="json")
    assert response.status_code == 400
    assert "target" in response.json()


# --- lineage ------------------------------------------------------------------------------


def test_the_model_lineage_shows_datasets_versions_and_feeds(viewer, owned_model):
    version = ModelVersionFactory(model=owned_model, version="1.0.0")
    dataset = DatasetFactory(slug="payments-2025")
    version.dataset_links.create(dataset=dataset, role="trained_on")
    url = reverse("api:model-lineage", kwargs={"slug": "owned-model"})
    graph = api(viewer).get(url).json()
    ids = {node["id"] for node in graph["nodes"]}
    assert {"model:owned-model", "version:owned-model@1.0.0", "dataset:payments-2025"} <= ids
    assert {
        "source": "dataset:payments-2025",
        "target": "version:owned-model@1.0.0",
        "type": "trained_on",
    } in graph["edges"]


def test_the_lineage_of_a_model_outside_reach_answers_404(business_owner, foreign_model):
    url = reverse("api:model-lineage", kwargs={"slug": "foreign-model"})
    assert api(business_owner).get(url).status_code == 404


def test_the_model_lineage_costs_the_same_queries_for_3_or_30_versions(
    django_assert_max_num_queries, viewer, owned_model
):
    dataset = DatasetFactory(owner=owned_model.owner)
    url = reverse("api:model-lineage", kwargs={"slug": "owned-model"})
    client = api(viewer)

    def add(n):
        for version in ModelVersionFactory.create_batch(n, model=owned_model):
            version.dataset_links.create(dataset=dataset, role="evaluated_on")

    add(3)
    few = _queries(client, url)
    add(27)
    with django_assert_max_num_queries(few):
        graph = client.get(url).json()
    assert len([n for n in graph["nodes"] if n["type"] == "version"]) == 30
