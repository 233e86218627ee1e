"""The schema documents what the API answers: error statuses with one Error component, and
the nulls and blanks real objects carry (checked against real responses)."""

from __future__ import annotations

import jsonschema
import pytest
from rest_framework.test import APIClient

from apps.incidents import services as incident_services
from apps.reports.models import Report
from tests.factories import RegisteredModelFactory

pytestmark = pytest.mark.django_db

ERROR_REF = "#/components/schemas/Error"


@pytest.fixture
def schema(admin_user) -> dict:
    client = APIClient()
    client.force_login(admin_user)
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


def operations(schema: dict):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                yield f"{method.upper()} {path}", operation


def test_every_operation_documents_its_error_statuses_with_the_error_component(schema):
    for name, operation in operations(schema):
        responses = operation["responses"]
        expected = {"400", "401", "403"}
        if any(p["in"] == "path" for p in operation.get("parameters", [])):
            expected.add("404")
        if "requestBody" in operation:
            expected |= {"413", "415"}
        assert expected <= set(responses), (name, sorted(responses))
        for code, response in responses.items():
            if int(code) >= 400:
                assert response["description"], (name, code)
                ref = response["content"]["application/json"]["schema"]["$ref"]
                assert ref == ERROR_REF, (name, code)


def test_paged_lists_document_404_for_a_page_past_the_end(schema):
    assert "404" in schema["paths"]["/api/v1/models/"]["get"]["responses"]
    # Not added where nothing can be missing: no path parameter, no page, no reference.
    assert "404" not in schema["paths"]["/api/v1/models/"]["post"]["responses"]


def test_the_lineage_graph_documents_404_for_a_model_out_of_reach(schema):
    lineage = schema["paths"]["/api/v1/lineage/"]["get"]["responses"]
    assert "`model`" in lineage["404"]["description"]


def test_statuses_views_declare_keep_their_description(schema):
    version = schema["paths"]["/api/v1/models/{model_slug}/versions/{version}/"]["patch"]
    assert "409" in version["responses"]
    download = schema["paths"]["/api/v1/reports/{id}/download/"]["get"]["responses"]
    assert download["409"]["description"] == "The report is not done."


def test_the_error_component_describes_every_error_body_the_api_sends(schema):
    error = schema["components"]["schemas"]["Error"]
    for body in (
        {"detail": "Not found."},
        {"detail": ["one", "two"]},
        {"business_owner": ["Contains a NUL character; names and filter values cannot."]},
        {"detail": "Invalid values", "rows": {"0": {"value": ["A valid number is required."]}}},
    ):
        jsonschema.validate(body, error)


# --- nulls and blanks, checked against real responses ----------------------------------------


def json_schema(openapi: dict, name: str) -> dict:
    """The OpenAPI 3.0 component ``name`` as JSON Schema: ``nullable`` becomes a null type."""

    def convert(node):
        if isinstance(node, list):
            return [convert(n) for n in node]
        if not isinstance(node, dict):
            return node
        node = {k: convert(v) for k, v in node.items() if k not in ("readOnly", "writeOnly")}
        if "$ref" in node:
            node["$ref"] = node["$ref"].replace("#/components/schemas/", "#/$defs/")
        if node.pop("nullable", False):
            return {"anyOf": [node, {"type": "null"}]}
        return node

    defs = {k: convert(v) for k, v in openapi["components"]["schemas"].items()}
    return {"$ref": f"#/$defs/{name}", "$defs": defs}


def conforms(openapi: dict, name: str, body: dict) -> None:
    jsonschema.validate(body, json_schema(openapi, name))


def test_an_inventory_report_waiting_to_run_conforms(schema, admin_user):
    report = Report.objects.create(kind="register", format="csv", requested_by=admin_user)
    client = APIClient()
    client.force_login(admin_user)
    body = client.get(f"/api/v1/reports/{report.pk}/").json()
    assert body["model"] is None and body["download_url"] is None
    conforms(schema, "Report", body)


def test_an_unassessed_model_and_its_open_assessment_conform(schema, admin_user):
    RegisteredModelFactory(slug="unassessed", risk_tier=None)
    client = APIClient()
    client.force_login(admin_user)
    body = client.get("/api/v1/models/unassessed/").json()
    assert body["risk_tier_label"] is None and body["risk_assessed_by"] is None
    conforms(schema, "RegisteredModel", body)


def test_an_incident_timeline_with_a_comment_conforms(schema, validator, owned_model):
    incident = incident_services.incident_create(
        actor=validator, model=owned_model, title="Drift", severity="sev3"
    )
    incident_services.incident_comment(actor=validator, incident=incident, text="On it.")
    client = APIClient()
    client.force_login(validator)
    body = client.get(f"/api/v1/incidents/{incident.reference}/").json()
    assert "" in {event["from_status"] for event in body["timeline"]}
    assert body["threshold"] is None
    conforms(schema, "IncidentDetail", body)
