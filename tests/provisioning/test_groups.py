"""/scim/v2/Groups: provider groups and their members, whose roles come from the identity
mapping (the same one OpenID Connect sign-in uses), with every change audited."""

from __future__ import annotations

import pytest

from apps.accounts.models import User
from apps.audit.models import AuditEvent
from apps.core import roles
from apps.identity.services import group_role_mapping_create
from apps.provisioning.models import ScimGroup
from apps.provisioning.protocol import GROUP_SCHEMA

pytestmark = pytest.mark.django_db


@pytest.fixture
def mapping(admin_user):
    group_role_mapping_create(actor=admin_user, group="mlgov-validators", role=roles.VALIDATOR)
    group_role_mapping_create(actor=admin_user, group="mlgov-auditors", role=roles.AUDITOR)
    # Entra's groups claim carries object ids: a mapping may name the group's externalId.
    group_role_mapping_create(actor=admin_user, group="5c1a-owners", role=roles.MODEL_OWNER)


def roles_of(user_name: str) -> set[str]:
    return set(roles.roles_of(User.objects.get(username=user_name)))


def new_group(scim, name: str, *member_ids: str, external_id: str | None = None) -> dict:
    body = {"schemas": [GROUP_SCHEMA], "displayName": name}
    if member_ids:
        body["members"] = [{"value": m} for m in member_ids]
    if external_id:
        body["externalId"] = external_id
    answer = scim.post("/Groups", body)
    assert answer.status == 201, answer.body
    return answer.body


def test_members_get_the_mapped_roles_of_all_their_groups(scim, mapping):
    ada = scim.create_user("ada@bank.example")
    validators = new_group(scim, "mlgov-validators", ada["id"])
    assert roles_of("ada@bank.example") == {roles.VALIDATOR}
    new_group(scim, "Owners", ada["id"], external_id="5c1a-owners")
    assert roles_of("ada@bank.example") == {roles.VALIDATOR, roles.MODEL_OWNER}
    assert validators["members"][0]["value"] == ada["id"]
    user = scim.get(f"/Users/{ada['id']}").body
    assert sorted(g["display"] for g in user["groups"]) == ["Owners", "mlgov-validators"]
    change = AuditEvent.objects.filter(
        object_type="accounts.user", message__contains="(scim)"
    ).first()
    assert change.actor_username == "scim:Entra ID"
    assert change.changes["roles"]["after"] == [roles.MODEL_OWNER, roles.VALIDATOR]


def test_patch_adds_and_removes_members_as_entra_and_okta_send_them(scim, mapping):
    ada = scim.create_user("ada@bank.example")
    bob = scim.create_user("bob@bank.example")
    group = new_group(scim, "mlgov-auditors")
    path = f"/Groups/{group['id']}"
    added = scim.patch(
        path,
        {"op": "Add", "path": "members", "value": [{"value": ada["id"]}, {"value": bob["id"]}]},
    )
    assert added.status == 200, added.body
    assert roles_of("bob@bank.example") == {roles.AUDITOR}
    scim.patch(path, {"op": "Remove", "path": "members", "value": [{"value": bob["id"]}]})
    assert roles_of("bob@bank.example") == set()
    assert roles_of("ada@bank.example") == {roles.AUDITOR}
    scim.patch(path, {"op": "remove", "path": f'members[value eq "{ada["id"]}"]'})
    assert roles_of("ada@bank.example") == set()
    assert ScimGroup.objects.get().members.count() == 0


def test_renaming_or_deleting_a_group_moves_its_members_roles(scim, mapping):
    ada = scim.create_user("ada@bank.example")
    group = new_group(scim, "mlgov-auditors", ada["id"])
    scim.patch(
        f"/Groups/{group['id']}", {"op": "replace", "value": {"displayName": "mlgov-validators"}}
    )
    assert roles_of("ada@bank.example") == {roles.VALIDATOR}
    assert scim.delete(f"/Groups/{group['id']}").status == 204
    assert roles_of("ada@bank.example") == set()
    assert scim.get(f"/Groups/{group['id']}").status == 404
    deleted = AuditEvent.objects.get(object_type="provisioning.scimgroup", action="delete")
    assert deleted.changes["members"]["before"] == ["ada@bank.example"]


def test_put_replaces_the_members(scim, mapping):
    ada = scim.create_user("ada@bank.example")
    bob = scim.create_user("bob@bank.example")
    group = new_group(scim, "mlgov-validators", ada["id"])
    answer = scim.put(
        f"/Groups/{group['id']}",
        {
            "schemas": [GROUP_SCHEMA],
            "displayName": "mlgov-validators",
            "members": [{"value": bob["id"]}],
        },
    )
    assert [m["value"] for m in answer.body["members"]] == [bob["id"]]
    assert roles_of("ada@bank.example") == set()
    assert roles_of("bob@bank.example") == {roles.VALIDATOR}


def test_it_filters_groups_by_display_name_and_member(scim):
    ada = scim.create_user("ada@bank.example")
    wanted = new_group(scim, "mlgov-validators", ada["id"])
    new_group(scim, "mlgov-auditors")
    found = scim.get("/Groups", filter='displayName eq "MLGOV-validators"').body
    assert [g["id"] for g in found["Resources"]] == [wanted["id"]]
    by_member = scim.get("/Groups", filter=f'members.value eq "{ada["id"]}"').body
    assert [g["id"] for g in by_member["Resources"]] == [wanted["id"]]
    # Okta asks for groups without their members
    lean = scim.get("/Groups", excludedAttributes="members").body
    assert all("members" not in g for g in lean["Resources"])


def test_group_input_errors_name_the_attribute(scim):
    ada = scim.create_user("ada@bank.example")
    new_group(scim, "mlgov-validators")
    cases = [
        ({"schemas": [GROUP_SCHEMA]}, 400, "displayName"),
        ({"schemas": [GROUP_SCHEMA], "displayName": "MLGOV-Validators"}, 409, "displayName"),
        (
            {"schemas": [GROUP_SCHEMA], "displayName": "x", "members": [{"value": "nobody"}]},
            400,
            "members",
        ),
        (
            {
                "schemas": [GROUP_SCHEMA],
                "displayName": "x",
                "members": [{"value": ada["id"], "type": "Group"}],
            },
            400,
            "members",
        ),
    ]
    for body, status, attribute in cases:
        answer = scim.post("/Groups", body)
        assert answer.status == status, (body, answer.body)
        assert attribute in answer.body["detail"]
    assert ScimGroup.objects.count() == 1


def test_group_lists_make_a_constant_number_of_queries(scim, django_assert_max_num_queries):
    users = [scim.create_user(f"user{i}@bank.example")["id"] for i in range(4)]
    for i in range(4):
        new_group(scim, f"group-{i}", *users)
    with django_assert_max_num_queries(6):
        listing = scim.get("/Groups").body
    assert listing["totalResults"] == 4
    assert all(len(g["members"]) == 4 for g in listing["Resources"])


def test_search_finds_users_and_groups_with_post(scim):
    ada = scim.create_user("ada@bank.example")
    group = new_group(scim, "mlgov-validators", ada["id"])
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "attributes": ["displayName", "userName"],
    }
    found = scim.post("/.search", body).body
    assert found["totalResults"] == 2
    assert {r["id"] for r in found["Resources"]} == {ada["id"], group["id"]}
    assert all(set(r) <= {"schemas", "id", "userName", "displayName"} for r in found["Resources"])
    second = scim.post("/.search", {**body, "startIndex": 2, "count": 1}).body
    assert [r["id"] for r in second["Resources"]] == [group["id"]]
    only = scim.post("/Users/.search", {**body, "filter": 'userName eq "ada@bank.example"'}).body
    assert [r["id"] for r in only["Resources"]] == [ada["id"]]


def test_a_group_is_read_in_a_constant_number_of_queries(scim, django_assert_max_num_queries):
    users = [scim.create_user(f"user{i}@bank.example")["id"] for i in range(5)]
    group = new_group(scim, "mlgov-validators", *users)
    with django_assert_max_num_queries(4):
        answer = scim.get(f"/Groups/{group['id']}")
    assert len(answer.body["members"]) == 5
