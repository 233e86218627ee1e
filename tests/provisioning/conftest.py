"""A SCIM client as an identity provider is one: the Django test client with a SCIM
credential made by the service, sending and reading ``application/scim+json``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from apps.provisioning.protocol import PATCH_SCHEMA, USER_SCHEMA
from apps.provisioning.services import scim_credential_create

BASE = "/scim/v2"


@dataclass
class Answer:
    status: int
    body: Any
    response: Any


class ScimClient:
    def __init__(self, secret: str):
        self.client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")

    def call(self, method: str, path: str, body: Any = None, **params) -> Answer:
        send = getattr(self.client, method)
        url = BASE + path
        if method == "get":
            response = send(url, params)
        elif body is None:
            response = send(url)
        else:
            response = send(url, json.dumps(body), content_type="application/scim+json")
        content = response.content
        return Answer(response.status_code, json.loads(content) if content else None, response)

    def get(self, path: str, **params) -> Answer:
        return self.call("get", path, **params)

    def post(self, path: str, body: Any) -> Answer:
        return self.call("post", path, body)

    def put(self, path: str, body: Any) -> Answer:
        return self.call("put", path, body)

    def patch(self, path: str, *operations: dict) -> Answer:
        return self.call("patch", path, {"schemas": [PATCH_SCHEMA], "Operations": list(operations)})

    def delete(self, path: str) -> Answer:
        return self.call("delete", path)

    def create_user(self, user_name: str, **attrs: Any) -> dict:
        answer = self.post("/Users", {"schemas": [USER_SCHEMA], "userName": user_name, **attrs})
        assert answer.status == 201, answer.body
        return answer.body


@pytest.fixture
def credential(db):
    credential, secret = scim_credential_create(actor=None, name="Entra ID", days=30)
    credential.secret = secret
    return credential


@pytest.fixture
def scim(credential) -> ScimClient:
    return ScimClient(credential.secret)


def entra_user(user_name: str, object_id: str, **extra: Any) -> dict:
    """A User as Microsoft Entra ID's provisioning service creates one."""
    return {
        "schemas": [USER_SCHEMA],
        "externalId": object_id,
        "userName": user_name,
        "active": True,
        "displayName": "Ada Lovelace",
        "emails": [{"primary": True, "type": "work", "value": user_name}],
        "name": {"formatted": "Ada Lovelace", "familyName": "Lovelace", "givenName": "Ada"},
        "title": "Model risk analyst",
        **extra,
    }
