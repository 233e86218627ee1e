"""The SCIM protocol without a database: PATCH as the providers send it, paths, booleans,
paging, attribute projection and error bodies."""

from __future__ import annotations

import pytest

from apps.provisioning.protocol import (
    GROUP_SHAPE,
    PATCH_SCHEMA,
    USER_SHAPE,
    ScimError,
    apply_patch,
    parse_bool,
    parse_paging,
    project,
)

USER = {
    "userName": "ada@bank.example",
    "name": {"givenName": "Ada", "familyName": "Lovelace"},
    "emails": [{"value": "ada@bank.example", "type": "work", "primary": True}],
    "active": True,
}


def patch(doc, *operations, shape=USER_SHAPE):
    return apply_patch(doc, {"schemas": [PATCH_SCHEMA], "Operations": list(operations)}, shape)


def test_it_reads_entra_capitalised_ops_and_active_as_a_string():
    doc = patch(USER, {"op": "Replace", "path": "active", "value": "False"})
    assert doc["active"] == "False"  # read as a boolean by user_values
    assert parse_bool(doc["active"], "active") is False
    assert USER["active"] is True  # the original is not changed


def test_it_applies_okta_replace_without_a_path():
    doc = patch(USER, {"op": "replace", "value": {"active": False, "name.givenName": "Augusta"}})
    assert doc["active"] is False
    assert doc["name"] == {"givenName": "Augusta", "familyName": "Lovelace"}


def test_it_sets_a_value_through_an_entra_value_filter_path():
    doc = patch(USER, {"op": "Add", "path": 'emails[type eq "work"].value', "value": "a@b.example"})
    assert doc["emails"] == [{"value": "a@b.example", "type": "work", "primary": True}]
    empty = patch(
        {"userName": "x"},
        {"op": "Add", "path": 'emails[type eq "work"].value', "value": "x@b.example"},
    )
    assert empty["emails"] == [{"type": "work", "value": "x@b.example"}]


def test_it_replaces_a_sub_attribute_and_removes_a_complex_one():
    doc = patch(USER, {"op": "replace", "path": "name.familyName", "value": "King"})
    assert doc["name"]["familyName"] == "King"
    gone = patch(USER, {"op": "remove", "path": "name"})
    assert gone["name"] == {}


def test_it_accepts_the_schema_urn_in_a_path():
    path = "urn:ietf:params:scim:schemas:core:2.0:User:title"
    assert patch(USER, {"op": "add", "path": path, "value": "Analyst"})["title"] == "Analyst"


def test_it_adds_and_removes_group_members_as_entra_and_okta_send_them():
    group = {"displayName": "mlgov-validators", "members": [{"value": "u1"}]}
    added = patch(
        group,
        {"op": "Add", "path": "members", "value": [{"value": "u2"}, {"value": "u1"}]},
        shape=GROUP_SHAPE,
    )
    assert [m["value"] for m in added["members"]] == ["u2", "u1"]
    # Entra: remove with the members to remove in the value
    entra = patch(
        added, {"op": "Remove", "path": "members", "value": [{"value": "u1"}]}, shape=GROUP_SHAPE
    )
    assert [m["value"] for m in entra["members"]] == ["u2"]
    # Okta: remove with a value filter in the path
    okta = patch(added, {"op": "remove", "path": 'members[value eq "u2"]'}, shape=GROUP_SHAPE)
    assert [m["value"] for m in okta["members"]] == ["u1"]
    cleared = patch(added, {"op": "remove", "path": "members"}, shape=GROUP_SHAPE)
    assert cleared["members"] == []
    replaced = patch(
        added, {"op": "replace", "path": "members", "value": [{"value": "u3"}]}, shape=GROUP_SHAPE
    )
    assert replaced["members"] == [{"value": "u3"}]


@pytest.mark.parametrize(
    ("operation", "scim_type", "named"),
    [
        ({"op": "replace", "path": "favouriteColour", "value": "x"}, "noTarget", "favouriteColour"),
        ({"op": "move", "path": "title", "value": "x"}, "invalidSyntax", "op"),
        (
            {"op": "replace", "path": 'emails[type sw "w"].value', "value": "x"},
            "invalidFilter",
            "emails",
        ),
        ({"op": "replace", "path": "name.middleName", "value": "x"}, "invalidPath", "middleName"),
        ({"op": "remove"}, "noTarget", "path"),
        ({"op": "remove", "path": "active"}, "mutability", "false to deactivate"),
        ({"op": "remove", "path": "userName"}, "mutability", "userName"),
        ({"op": "replace", "path": "title[", "value": "x"}, "invalidPath", "title["),
    ],
)
def test_it_refuses_bad_operations_naming_what_is_wrong(operation, scim_type, named):
    with pytest.raises(ScimError) as refused:
        patch(USER, operation)
    assert refused.value.status == 400
    assert refused.value.scim_type == scim_type
    assert named in refused.value.detail
    assert refused.value.body()["scimType"] == scim_type


def test_it_refuses_a_body_without_the_patch_schema():
    with pytest.raises(ScimError, match="PatchOp"):
        apply_patch(
            USER, {"Operations": [{"op": "add", "path": "title", "value": "x"}]}, USER_SHAPE
        )


def test_booleans_are_true_false_or_their_text():
    assert parse_bool("TRUE", "active") is True
    with pytest.raises(ScimError, match="'active' must be true or false"):
        parse_bool("yes", "active")


def test_paging_starts_at_one_and_caps_the_count():
    assert parse_paging(None, None) == (1, 100)
    assert parse_paging("0", "1000") == (1, 200)
    assert parse_paging("21", "-5") == (21, 0)
    with pytest.raises(ScimError, match="'count' must be a whole number"):
        parse_paging("1", "ten")


def test_projection_keeps_id_and_schemas():
    doc = {"schemas": ["s"], "id": "1", "userName": "a", "title": "t", "emails": []}
    assert project(doc, attributes=["userName"], excluded=[], schema="s") == {
        "schemas": ["s"],
        "id": "1",
        "userName": "a",
    }
    assert "title" not in project(doc, attributes=[], excluded=["s:title"], schema="s")


def test_it_ignores_attributes_mlgov_does_not_keep_as_entra_sends_them():
    doc = patch(
        USER,
        {"op": "Add", "path": 'phoneNumbers[type eq "work"].value', "value": "+44 20 0000"},
        {"op": "Replace", "path": "preferredLanguage", "value": "en-GB"},
        {
            "op": "Add",
            "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
            "value": "Model risk",
        },
        {"op": "replace", "value": {"addresses": [{"type": "work"}], "title": "Analyst"}},
    )
    assert doc == {**USER, "title": "Analyst"}
