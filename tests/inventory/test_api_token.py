"""API with a token made by ``manage.py drf_create_token``: a model owner's CI pipeline
registers a model and a version; both are audited and show in the browser UI."""

from __future__ import annotations

import hashlib
import io

import pytest
from django.core.management import call_command
from django.urls import reverse
from rest_framework.test import APIClient

from apps.audit.models import AuditEvent
from apps.audit.selectors import audit_chain_verify
from tests.factories import BusinessUnitFactory

pytestmark = pytest.mark.django_db


def _token_for(username: str) -> str:
    out = io.StringIO()
    call_command("drf_create_token", username, stdout=out)
    # "Generated token <key> for user <username>"
    return out.getvalue().split()[2]


def test_a_model_owner_token_registers_a_model_and_a_version(model_owner, business_owner):
    unit = BusinessUnitFactory(code="logistics", name="Logistics")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {_token_for(model_owner.username)}")

    response = client.post(
        "/api/v1/models/",
        {
            "slug": "failed-delivery",
            "name": "Failed-delivery predictor",
            "purpose": "Predict parcels at risk of a failed first delivery.",
            "business_unit": unit.code,
            "business_owner": business_owner.username,
        },
        format="json",
        HTTP_X_REQUEST_ID="ci-run-42",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["owner"] == "mo.owner"

    response = client.post(
        "/api/v1/models/failed-delivery/versions/",
        {
            "version": "1.0.0",
            "artifact_uri": "s3://models/failed-delivery/1.0.0.pkl",
            "artifact_sha256": hashlib.sha256(b"model").hexdigest(),
            "evaluation_metrics": {"auc": 0.87},
        },
        format="json",
        HTTP_X_REQUEST_ID="ci-run-42",
    )
    assert response.status_code == 201, response.json()

    events = list(AuditEvent.objects.order_by("sequence"))
    assert [(e.object_type, e.action) for e in events] == [
        ("accounts.authtoken", "create"),  # drf_create_token, run by the operator
        ("inventory.registeredmodel", "create"),
        ("inventory.modelversion", "create"),
    ]
    assert events[0].actor_username == "system"
    assert {e.actor_username for e in events[1:]} == {"mo.owner"}
    assert {e.request_id for e in events[1:]} == {"ci-run-42"}
    assert audit_chain_verify().ok

    # The owner sees both in the browser too.
    browser = APIClient()
    browser.force_login(model_owner)
    page = browser.get(reverse("inventory:model_detail", kwargs={"slug": "failed-delivery"}))
    assert page.status_code == 200
    assert "Failed-delivery predictor" in page.content.decode()


def test_a_wrong_token_is_refused():
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    response = client.get("/api/v1/models/")
    assert response.status_code == 401
    assert response.json()["detail"] == "Invalid token."


def test_a_viewer_token_reads_but_cannot_write(viewer):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {_token_for(viewer.username)}")
    assert client.get("/api/v1/models/").status_code == 200
    response = client.post("/api/v1/models/", {"slug": "x"}, format="json")
    assert response.status_code == 403
    assert not AuditEvent.objects.exclude(object_type="accounts.authtoken").exists()


def test_session_writes_need_the_csrf_token(model_owner):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(model_owner)
    assert client.get("/api/v1/models/").status_code == 200
    response = client.post("/api/v1/models/", {"slug": "x"}, format="json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
