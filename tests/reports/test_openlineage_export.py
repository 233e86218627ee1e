"""The lineage export's OpenLineage events, done right: valid against the spec with 0 errors,
START and COMPLETE per run, each input once, model-to-model feeds as scoring runs, and custom
facets whose _schemaURL is a JSON Schema document mlgov serves."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest
from jsonschema import Draft202012Validator
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.serde import Serde
from referencing import Registry, Resource

from apps.inventory.models import ModelDependency, VersionDataset
from apps.reports import lineage
from apps.reports.formats import openlineage_spec as spec
from apps.reports.formats.openlineage import lineage_openlineage, model_output_name
from tests.factories import DatasetFactory, ModelVersionFactory, RegisteredModelFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def inventory(owned_model, foreign_model):
    """owned-model 1.0.0 trained and evaluated on ``loans`` (one dataset, two roles) and
    evaluated on ``holdout``; owned-model feeds foreign-model; a third model feeds owned-model."""
    loans = DatasetFactory(slug="loans", uri="s3://lake/loans.parquet", version="2026-01")
    holdout = DatasetFactory(slug="holdout", uri="s3://lake/holdout.parquet")
    version = ModelVersionFactory(model=owned_model, version="1.0.0")
    VersionDataset.objects.create(version=version, dataset=loans, role="trained_on")
    VersionDataset.objects.create(version=version, dataset=loans, role="evaluated_on")
    VersionDataset.objects.create(version=version, dataset=holdout, role="evaluated_on")
    ModelVersionFactory(model=foreign_model, version="0.1.0")
    bureau = RegisteredModelFactory(slug="bureau-score", owner=owned_model.owner)
    ModelDependency.objects.create(
        upstream=owned_model, downstream=foreign_model, created_by=owned_model.owner
    )
    ModelDependency.objects.create(
        upstream=bureau, downstream=owned_model, created_by=owned_model.owner
    )
    return {"version": version}


def _events(user, **kw):
    return lineage_openlineage(lineage.lineage_document(user=user, **kw))


def test_every_event_validates_against_the_spec_with_no_error(auditor, inventory):
    events = _events(auditor)

    assert events
    assert {e["eventType"] for e in events} == {"START", "COMPLETE"}
    assert [
        (i, spec.run_event_errors(e)) for i, e in enumerate(events) if spec.run_event_errors(e)
    ] == []


def test_every_run_has_one_start_and_one_complete(auditor, inventory):
    runs: dict[str, list[str]] = {}
    for event in _events(auditor):
        runs.setdefault(event["run"]["runId"], []).append(event["eventType"])

    assert runs and all(types == ["START", "COMPLETE"] for types in runs.values())


def test_each_input_is_listed_once_with_all_its_roles(auditor, owned_model, inventory):
    (complete,) = [
        e
        for e in _events(auditor, model=owned_model)
        if e["eventType"] == "COMPLETE" and e["job"]["name"] == "owned-model/train/1.0.0"
    ]
    names = [(i["namespace"], i["name"]) for i in complete["inputs"]]

    assert sorted(names) == [("s3://lake", "holdout.parquet"), ("s3://lake", "loans.parquet")]
    roles = {i["name"]: i["facets"]["mlgov_dataset"]["roles"] for i in complete["inputs"]}
    assert roles == {
        "loans.parquet": ["evaluated_on", "trained_on"],
        "holdout.parquet": ["evaluated_on"],
    }
    all_inputs = [
        (e["run"]["runId"], i["namespace"], i["name"])
        for e in _events(auditor)
        for i in e["inputs"]
    ]
    assert len(all_inputs) == len(set(all_inputs))


def test_model_feeds_are_scoring_runs_reading_the_upstream_outputs(auditor, inventory):
    serving = {
        e["job"]["name"]: e
        for e in _events(auditor)
        if e["eventType"] == "COMPLETE" and e["job"]["name"].endswith("/serve")
    }

    assert set(serving) == {"bureau-score/serve", "owned-model/serve", "foreign-model/serve"}
    owned = serving["owned-model/serve"]
    assert [i["name"] for i in owned["inputs"]] == [model_output_name("bureau-score")]
    assert [o["name"] for o in owned["outputs"]] == [model_output_name("owned-model")]
    assert [i["name"] for i in serving["foreign-model/serve"]["inputs"]] == [
        model_output_name("owned-model")
    ]
    assert owned["job"]["facets"]["mlgov_feeds"]["upstream"] == ["bureau-score"]
    assert owned["job"]["facets"]["mlgov"]["model"] == "owned-model"


def _custom_facets(events):
    for event in events:
        places = [event["job"].get("facets", {}), event["run"].get("facets", {})]
        for dataset in event["inputs"] + event["outputs"]:
            places.append(dataset.get("facets", {}))
        for facets in places:
            for key, facet in facets.items():
                if key in spec.FACET_KEYS:
                    yield key, facet


def test_custom_facets_point_at_schemas_mlgov_serves(client, auditor, inventory, settings):
    settings.MLGOV_BASE_URL = "https://mlgov.example.org"
    events = _events(auditor)
    seen = set()
    registry = Registry().with_resources(
        [
            (
                spec.SPEC_URL,
                Resource.from_contents(
                    json.loads((spec.SPEC_DIR / "OpenLineage.json").read_text())
                ),
            )
        ]
    )
    for key, facet in _custom_facets(events):
        url = facet["_schemaURL"]
        assert url.startswith("https://mlgov.example.org/openlineage/facets/")
        assert not urlsplit(url).path.endswith(".py")
        response = client.get(urlsplit(url).path)  # served without signing in
        assert response.status_code == 200, url
        assert response["Content-Type"] == "application/schema+json"
        document = response.json()
        assert document["$id"] == url.split("#")[0]
        name = url.split("#/$defs/")[1]
        validator = Draft202012Validator(
            {"$ref": f"{document['$id']}#/$defs/{name}"},
            registry=registry.with_resource(document["$id"], Resource.from_contents(document)),
        )
        assert list(validator.iter_errors(facet)) == [], (key, facet)
        seen.add(name)
    assert seen == set(spec.FACETS)


def test_an_unknown_facet_schema_is_not_found(client):
    assert client.get("/openlineage/facets/NoSuchFacet.json").status_code == 404


def test_the_openlineage_client_rebuilds_every_event(auditor, inventory):
    """The client's own classes (and their validators: run ids, times, URIs) accept every
    event, and its serialiser writes back the same core fields."""
    for event in _events(auditor):
        rebuilt = RunEvent(
            eventType=RunState(event["eventType"]),
            eventTime=event["eventTime"],
            run=Run(runId=event["run"]["runId"], facets=event["run"]["facets"]),
            job=Job(
                namespace=event["job"]["namespace"],
                name=event["job"]["name"],
                facets=event["job"]["facets"],
            ),
            inputs=[
                InputDataset(i["namespace"], i["name"], facets=i.get("facets", {}))
                for i in event["inputs"]
            ],
            outputs=[
                OutputDataset(o["namespace"], o["name"], facets=o.get("facets", {}))
                for o in event["outputs"]
            ],
            producer=event["producer"],
        )
        written = Serde.to_dict(rebuilt)
        assert written["schemaURL"] == event["schemaURL"]
        for key in ("eventType", "eventTime", "producer", "run", "job"):
            assert written[key] == event[key], key
        assert spec.run_event_errors(written) == []
