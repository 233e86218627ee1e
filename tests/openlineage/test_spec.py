"""The OpenLineage validator mlgov shares between its export and its intake: the vendored spec,
standard facets checked by their _schemaURL, mlgov's facets by their key, errors by pointer."""

from __future__ import annotations

import json

import pytest
from openlineage.client.event_v2 import RunState

from apps.reports.formats import openlineage_spec as spec
from tests.openlineage.events import as_dict, dataset, run_event


def _valid() -> dict:
    return as_dict(
        run_event(
            inputs=[dataset("s3://lake", "credit/applications.parquet", version="2026-10")],
            outputs=[dataset("s3://models", "credit/2.1.0/model.pkl", output=True)],
            model="credit-scoring",
            version="2.1.0",
        )
    )


def test_an_event_made_by_the_openlineage_client_is_valid():
    assert spec.run_event_errors(_valid()) == []


def test_the_vendored_spec_is_the_one_the_client_speaks():
    event = _valid()
    vendored = json.loads((spec.SPEC_DIR / "OpenLineage.json").read_text())

    assert vendored["$id"] == spec.SPEC_URL
    assert event["schemaURL"] == spec.RUN_EVENT_SCHEMA_URL
    assert event["inputs"][0]["facets"]["version"]["_schemaURL"].split("#")[0] in (
        spec.standard_facet_urls()
    )


def test_it_names_a_missing_event_time():
    event = _valid()
    del event["eventTime"]

    assert spec.run_event_errors(event) == [("/eventTime", "'eventTime' is a required property")]


@pytest.mark.parametrize("value", ["yesterday", "2026-11-24", "2026-11-24T10:15:00"])
def test_it_refuses_an_event_time_without_date_time_and_offset(value):
    event = _valid()
    event["eventTime"] = value

    assert [p for p, _ in spec.run_event_errors(event)] == ["/eventTime"]


def test_it_names_a_wrong_event_type():
    event = _valid()
    event["eventType"] = "FINISHED"

    ((where, message),) = spec.run_event_errors(event)
    assert where == "/eventType"
    assert "'FINISHED' is not one of" in message


def test_it_names_a_facet_without_its_producer():
    event = _valid()
    del event["job"]["facets"]["mlgov"]["_producer"]

    assert ("/job/facets/mlgov/_producer", "'_producer' is a required property") in (
        spec.run_event_errors(event)
    )


def test_it_checks_a_standard_facet_against_its_own_schema():
    event = _valid()
    del event["inputs"][0]["facets"]["version"]["datasetVersion"]

    assert spec.run_event_errors(event) == [
        ("/inputs/0/facets/version/datasetVersion", "'datasetVersion' is a required property")
    ]


def test_it_checks_mlgovs_facet_whatever_its_schema_url():
    event = _valid()
    event["job"]["facets"]["mlgov"]["_schemaURL"] = "https://example.org/elsewhere.json"
    event["job"]["facets"]["mlgov"]["model"] = "Credit Scoring!"

    ((where, message),) = spec.run_event_errors(event)
    assert where == "/job/facets/mlgov/model"
    assert "does not match" in message


def test_it_names_a_run_id_that_is_no_uuid_and_a_job_without_a_name():
    event = _valid()
    event["run"]["runId"] = "run-42"
    del event["job"]["name"]

    assert {p for p, _ in spec.run_event_errors(event)} == {"/run/runId", "/job/name"}


def test_it_refuses_what_is_not_an_object():
    assert spec.run_event_errors([{"eventType": "START"}]) == [
        ("", "An OpenLineage RunEvent is a JSON object.")
    ]


def test_pointers_escape_slashes_and_tildes():
    assert spec.pointer(["run", "facets", "a/b~c"]) == "/run/facets/a~1b~0c"


def test_failed_runs_are_valid_events_too():
    assert spec.run_event_errors(as_dict(run_event(state=RunState.FAIL))) == []


def test_every_mlgov_facet_schema_document_is_a_valid_json_schema():
    from jsonschema import Draft202012Validator

    for name in spec.FACETS:
        document = spec.facet_schema_document(name, "https://mlgov.example.org")
        Draft202012Validator.check_schema(document)
        assert document["$id"] == f"https://mlgov.example.org/openlineage/facets/{name}.json"
        assert spec.facet_schema_url(name, "https://mlgov.example.org/").startswith(
            document["$id"] + "#/$defs/"
        )
