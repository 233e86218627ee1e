"""What mlgov tells a provider about itself: ServiceProviderConfig, ResourceTypes, Schemas."""

from __future__ import annotations

import pytest

from apps.provisioning.protocol import GROUP_SCHEMA, USER_SCHEMA

pytestmark = pytest.mark.django_db


def test_it_describes_its_features(scim):
    config = scim.get("/ServiceProviderConfig").body
    assert config["filter"] == {"supported": True, "maxResults": 200}
    assert config["bulk"]["supported"] is False
    assert config["authenticationSchemes"][0]["type"] == "oauthbearertoken"
    assert config["meta"]["location"] == "http://testserver/scim/v2/ServiceProviderConfig"


def test_it_lists_and_gives_resource_types_and_schemas(scim):
    types = scim.get("/ResourceTypes").body
    assert {t["id"]: t["endpoint"] for t in types["Resources"]} == {
        "User": "/Users",
        "Group": "/Groups",
    }
    assert scim.get("/ResourceTypes/Group").body["schema"] == GROUP_SCHEMA
    schemas = scim.get("/Schemas").body
    assert {s["id"] for s in schemas["Resources"]} == {USER_SCHEMA, GROUP_SCHEMA}
    user = scim.get(f"/Schemas/{USER_SCHEMA}").body
    names = {a["name"]: a for a in user["attributes"]}
    assert names["userName"]["required"] is True
    assert names["active"]["required"] is True  # an account is active or not
    assert names["groups"]["mutability"] == "readOnly"
    assert scim.get("/Schemas/urn:nothing").status == 404
    assert scim.get("/ResourceTypes/Printer").status == 404
