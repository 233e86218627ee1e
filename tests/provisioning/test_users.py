"""/scim/v2/Users as the identity providers use it: create, read, filter, page, replace,
PATCH, deactivate and delete, each through the accounts services and audited with the
SCIM credential as the actor."""

from __future__ import annotations

import pytest

from apps.accounts.models import User
from apps.audit.models import AuditEvent
from apps.identity.models import ProviderIdentity
from apps.identity.services import identity_link
from apps.provisioning.models import ScimUser
from apps.provisioning.protocol import USER_SCHEMA
from tests.factories import UserFactory
from tests.provisioning.conftest import entra_user

pytestmark = pytest.mark.django_db


def test_it_creates_an_account_through_the_accounts_services(scim):
    answer = scim.post("/Users", entra_user("ada@bank.example", "0f6e-ada"))
    assert answer.status == 201
    assert answer.response["Content-Type"] == "application/scim+json"
    body = answer.body
    assert body["userName"] == "ada@bank.example"
    assert body["externalId"] == "0f6e-ada"
    assert body["active"] is True
    assert body["emails"] == [{"value": "ada@bank.example", "primary": True, "type": "work"}]
    assert answer.response["Location"] == body["meta"]["location"]
    user = User.objects.get(username="ada@bank.example")
    assert (user.first_name, user.last_name, user.job_title) == (
        "Ada",
        "Lovelace",
        "Model risk analyst",
    )
    assert not user.has_usable_password()
    created = AuditEvent.objects.get(object_type="accounts.user", action="create")
    assert created.actor_id is None
    assert created.actor_username == "scim:Entra ID"
    assert "Provisioned by SCIM" in created.message


def test_it_links_the_external_id_as_the_oidc_subject(scim, settings):
    settings.MLGOV_OIDC_ISSUER = "https://login.bank.example/tenant/v2.0"
    scim.post("/Users", entra_user("ada@bank.example", "0f6e-ada"))
    identity = ProviderIdentity.objects.get()
    assert (identity.issuer, identity.subject) == (settings.MLGOV_OIDC_ISSUER, "0f6e-ada")
    assert identity.user.username == "ada@bank.example"


def test_it_takes_over_the_account_a_single_sign_on_made_for_the_subject(scim, settings):
    settings.MLGOV_OIDC_ISSUER = "https://login.bank.example/tenant/v2.0"
    signed_in = UserFactory(username="ada.lovelace")
    identity_link(user=signed_in, issuer=settings.MLGOV_OIDC_ISSUER, subject="0f6e-ada")
    body = scim.create_user("ada@bank.example", externalId="0f6e-ada")
    assert ScimUser.objects.get(scim_id=body["id"]).user == signed_in
    signed_in.refresh_from_db()
    assert signed_in.username == "ada@bank.example"


def test_it_takes_over_an_existing_local_account_with_the_same_user_name(scim):
    local = UserFactory(username="Ada@Bank.example")
    body = scim.create_user("ada@bank.example", externalId="0f6e-ada")
    assert ScimUser.objects.get(scim_id=body["id"]).user == local
    again = scim.post("/Users", {"schemas": [USER_SCHEMA], "userName": "ADA@bank.example"})
    assert again.status == 409
    assert again.body["scimType"] == "uniqueness"
    assert "userName" in again.body["detail"]


def test_it_refuses_bad_input_naming_the_attribute(scim):
    cases = [
        ({"schemas": [USER_SCHEMA]}, "userName"),
        ({"schemas": [USER_SCHEMA], "userName": "bob", "active": "maybe"}, "active"),
        (
            {"schemas": [USER_SCHEMA], "userName": "bob", "emails": [{"value": "not-an-address"}]},
            "emails.value",
        ),
        ({"schemas": [USER_SCHEMA], "userName": "b o b"}, "userName"),
        ({"schemas": [USER_SCHEMA], "userName": "bob", "name": "Bob"}, "name"),
    ]
    for body, attribute in cases:
        answer = scim.post("/Users", body)
        assert answer.status == 400, (body, answer.body)
        assert answer.body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
        assert answer.body["scimType"] == "invalidValue"
        assert attribute in answer.body["detail"], answer.body
    assert not User.objects.filter(username="bob").exists()
    assert scim.call("post", "/Users").status == 400


def test_it_filters_as_the_providers_do(scim):
    ada = scim.create_user("ada@bank.example", externalId="0f6e-ada")
    scim.create_user("bob@bank.example", externalId="77aa-bob")
    by_name = scim.get("/Users", filter='userName eq "ADA@bank.example"').body
    assert [r["id"] for r in by_name["Resources"]] == [ada["id"]]
    assert by_name["totalResults"] == 1
    by_external = scim.get("/Users", filter='externalId eq "0f6e-ada"').body
    assert [r["id"] for r in by_external["Resources"]] == [ada["id"]]
    none = scim.get("/Users", filter='userName eq "carol@bank.example"').body
    assert (none["totalResults"], none["Resources"]) == (0, [])
    unknown = scim.get("/Users", filter='nickName eq "x"')
    assert unknown.status == 400
    assert unknown.body["scimType"] == "invalidFilter"
    assert "nickName" in unknown.body["detail"]
    broken = scim.get("/Users", filter="userName eq")
    assert (broken.status, broken.body["scimType"]) == (400, "invalidFilter")


def test_it_pages_with_start_index_and_count(scim, django_assert_max_num_queries):
    ids = [scim.create_user(f"user{i}@bank.example")["id"] for i in range(5)]
    page = scim.get("/Users", startIndex=2, count=2).body
    assert (page["totalResults"], page["startIndex"], page["itemsPerPage"]) == (5, 2, 2)
    assert [r["id"] for r in page["Resources"]] == ids[1:3]
    assert scim.get("/Users", count=0).body["Resources"] == []
    with django_assert_max_num_queries(6):
        listing = scim.get("/Users").body
    assert len(listing["Resources"]) == 5


def test_a_user_is_read_in_a_constant_number_of_queries(scim, django_assert_max_num_queries):
    ada = scim.create_user("ada@bank.example")
    with django_assert_max_num_queries(4):
        assert scim.get(f"/Users/{ada['id']}").status == 200


def test_it_answers_only_the_attributes_asked_for(scim):
    ada = scim.create_user("ada@bank.example", title="Analyst")
    only = scim.get(f"/Users/{ada['id']}", attributes="userName").body
    assert set(only) == {"schemas", "id", "userName"}
    without = scim.get("/Users", excludedAttributes="title").body["Resources"][0]
    assert "title" not in without and without["userName"] == "ada@bank.example"


def test_it_replaces_a_user_with_put(scim):
    ada = scim.create_user("ada@bank.example", title="Analyst", name={"givenName": "Ada"})
    answer = scim.put(
        f"/Users/{ada['id']}",
        {
            "schemas": [USER_SCHEMA],
            "userName": "ada.king@bank.example",
            "name": {"familyName": "King"},
        },
    )
    assert answer.status == 200
    assert answer.body["userName"] == "ada.king@bank.example"
    assert answer.body["name"] == {"familyName": "King"}
    assert "title" not in answer.body
    user = User.objects.get(username="ada.king@bank.example")
    assert (user.first_name, user.last_name, user.job_title) == ("", "King", "")


def test_it_applies_the_patch_forms_entra_sends(scim):
    ada = scim.create_user("ada@bank.example", externalId="0f6e-ada")
    answer = scim.patch(
        f"/Users/{ada['id']}",
        {"op": "Replace", "path": "title", "value": "Head of model risk"},
        {"op": "Add", "path": 'emails[type eq "work"].value', "value": "ada.l@bank.example"},
        {"op": "Replace", "path": "name.givenName", "value": "Augusta"},
    )
    assert answer.status == 200, answer.body
    user = User.objects.get(username="ada@bank.example")
    assert (user.job_title, user.email, user.first_name) == (
        "Head of model risk",
        "ada.l@bank.example",
        "Augusta",
    )
    deactivated = scim.patch(
        f"/Users/{ada['id']}", {"op": "Replace", "path": "active", "value": "False"}
    )
    assert deactivated.body["active"] is False
    user.refresh_from_db()
    assert not user.is_active
    reactivated = scim.patch(f"/Users/{ada['id']}", {"op": "replace", "value": {"active": True}})
    assert reactivated.body["active"] is True


def test_a_bad_patch_changes_nothing(scim):
    ada = scim.create_user("ada@bank.example", title="Analyst")
    answer = scim.patch(
        f"/Users/{ada['id']}",
        {"op": "replace", "path": "title", "value": "Changed"},
        {"op": "replace", "path": "active", "value": "perhaps"},
    )
    assert (answer.status, answer.body["scimType"]) == (400, "invalidValue")
    assert "active" in answer.body["detail"]
    assert User.objects.get(username="ada@bank.example").job_title == "Analyst"


def test_delete_deactivates_and_keeps_the_account_and_its_history(scim):
    ada = scim.create_user("ada@bank.example")
    assert scim.delete(f"/Users/{ada['id']}").status == 204
    assert scim.get(f"/Users/{ada['id']}").status == 404
    user = User.objects.get(username="ada@bank.example")
    assert not user.is_active
    deleted = AuditEvent.objects.get(object_type="provisioning.scimuser", action="delete")
    assert deleted.actor_username == "scim:Entra ID"
    assert "history and signatures kept" in deleted.message
    # Provisioned again later (a rehire): the same account, active again
    again = scim.create_user("ada@bank.example", active=True)
    assert again["id"] != ada["id"]
    user.refresh_from_db()
    assert user.is_active


def test_unknown_ids_and_paths_are_scim_404s(scim):
    for path in ("/Users/not-a-uuid", "/Users/2819c223-7f76-453a-919d-413861904646", "/Nothing"):
        answer = scim.get(path)
        assert answer.status == 404
        assert answer.body["status"] == "404"
        assert answer.body["detail"]
