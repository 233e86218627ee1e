"""Lineage report: the document, visibility, OpenLineage events, as-of, SVG, HTML and PDF."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import uuid

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone

from apps.core.templatetags.mlgov_svg import COLUMN_GAP, NODE_WIDTH, lineage_layout
from apps.inventory import selectors
from apps.inventory.models import ModelDependency, ModelVersion, VersionDataset
from apps.reports import lineage
from apps.reports.formats.lineage_report import lineage_html, lineage_pdf
from apps.reports.formats.lineage_svg import lineage_svg
from apps.reports.formats.openlineage import (
    dataset_identity,
    lineage_json_bytes,
    lineage_openlineage,
)
from tests.factories import (
    DatasetFactory,
    DeploymentFactory,
    ModelVersionFactory,
    RegisteredModelFactory,
    UserFactory,
)
from tests.reports.sample import sample_meta

pytestmark = pytest.mark.django_db

HOSTILE = '<script>alert(1)</script> =HYPERLINK("x")'


@pytest.fixture
def graph(owned_model, foreign_model):
    """owned-model: v1 trained on ``train`` and evaluated on ``holdout``, v2 in production
    (deployed) trained on ``train``; owned-model feeds foreign-model."""
    data_owner = UserFactory(username="dana.data", first_name="Dana", last_name="Data")
    train = DatasetFactory(slug="train", name="Loans", version="2026-01", owner=data_owner)
    holdout = DatasetFactory(slug="holdout", name="Holdout", version="", owner=data_owner)
    v1 = ModelVersionFactory(model=owned_model, version="1.0.0", stage="archived")
    v2 = ModelVersionFactory(model=owned_model, version="2.0.0", stage="production")
    VersionDataset.objects.create(version=v1, dataset=train, role="trained_on")
    VersionDataset.objects.create(version=v1, dataset=holdout, role="evaluated_on")
    VersionDataset.objects.create(version=v2, dataset=train, role="trained_on")
    deployment = DeploymentFactory(
        version=v2, environment="production", endpoint="https://api.internal/score"
    )
    ModelDependency.objects.create(
        upstream=owned_model, downstream=foreign_model, created_by=owned_model.owner
    )
    foreign_version = ModelVersionFactory(model=foreign_model, version="0.1.0")
    return {
        "train": train,
        "holdout": holdout,
        "v1": v1,
        "v2": v2,
        "deployment": deployment,
        "foreign_version": foreign_version,
    }


def _node(doc, node_id):
    return next(n for n in doc["nodes"] if n["id"] == node_id)


def _ids(doc):
    return {n["id"] for n in doc["nodes"]}


def test_it_lays_out_datasets_versions_deployments_and_downstream_models(
    auditor, owned_model, graph
):
    doc = lineage.lineage_document(user=auditor, model=owned_model)

    assert doc["scope"] == {"model": "owned-model", "name": "Owned model"}
    assert doc["models"] == ["owned-model"]
    assert doc["as_of_requested"] is False
    layers = {layer["key"]: set(layer["nodes"]) for layer in doc["layers"]}
    assert layers["inputs"] == {"dataset:train", "dataset:holdout"}
    assert layers["models"] == {
        "model:owned-model",
        "version:owned-model@1.0.0",
        "version:owned-model@2.0.0",
    }
    assert layers["deployments"] == {f"deployment:{graph['deployment'].pk}"}
    assert layers["downstream"] == {"model:foreign-model"}

    train = _node(doc, "dataset:train")
    assert train["owner"] == {"username": "dana.data", "name": "Dana Data"}
    assert train["hash"] == graph["train"].content_hash
    assert train["uri"] == graph["train"].uri
    v2 = _node(doc, "version:owned-model@2.0.0")
    assert v2["hash"] == graph["v2"].artifact_sha256
    assert v2["uri"] == graph["v2"].artifact_uri
    assert v2["owner"]["username"] == "mo.owner"
    assert v2["details"]["stage"] == "production"
    deployment = _node(doc, f"deployment:{graph['deployment'].pk}")
    assert deployment["uri"] == "https://api.internal/score"
    assert deployment["hash"] == graph["v2"].artifact_sha256
    assert deployment["version"] == "2.0.0"
    downstream = _node(doc, "model:foreign-model")
    assert downstream["owner"]["username"] == "oz.otherowner"

    edges = {(e["source"], e["target"], e["kind"]) for e in doc["edges"]}
    assert ("dataset:holdout", "version:owned-model@1.0.0", "evaluated_on") in edges
    assert ("dataset:train", "version:owned-model@2.0.0", "trained_on") in edges
    assert (
        "version:owned-model@2.0.0",
        f"deployment:{graph['deployment'].pk}",
        "deployed_as",
    ) in edges
    assert ("model:owned-model", "model:foreign-model", "feeds") in edges
    # The other model's own versions belong to its lineage, not this one.
    assert "version:foreign-model@0.1.0" not in _ids(doc)
    json.dumps(doc)  # JSON-ready


def test_it_places_nodes_in_the_same_columns_as_the_lineage_tab(auditor, owned_model, graph):
    doc = lineage.lineage_document(user=auditor, model=owned_model)
    layout = lineage_layout(
        selectors.model_lineage(user=auditor, model=owned_model), "model:owned-model"
    )
    columns = {n["id"]: (n["x"] - 10) // (NODE_WIDTH + COLUMN_GAP) for n in layout["nodes"]}

    assert {n["id"]: n["layer"] for n in doc["nodes"]} == columns


def test_it_shows_a_model_owner_only_the_nodes_of_their_models(
    model_owner, auditor, owned_model, foreign_model, graph
):
    mine = lineage.lineage_document(user=model_owner)
    everything = lineage.lineage_document(user=auditor)

    assert mine["models"] == ["owned-model"]
    assert not any("foreign-model" in node_id for node_id in _ids(mine))
    assert not any("foreign-model" in e["source"] + e["target"] for e in mine["edges"])
    assert everything["models"] == ["foreign-model", "owned-model"]
    assert "version:foreign-model@0.1.0" in _ids(everything)
    assert _node(everything, "model:foreign-model")["layer"] == 1  # in scope, not downstream


def test_it_refuses_the_lineage_of_a_model_the_user_cannot_see(model_owner, foreign_model):
    with pytest.raises(PermissionDenied):
        lineage.lineage_document(user=model_owner, model=foreign_model)


def test_it_shows_an_outsider_nothing(outsider, graph):
    doc = lineage.lineage_document(user=outsider)

    assert doc["nodes"] == [] and doc["edges"] == [] and doc["models"] == []


def _completed_training(events):
    return [e for e in events if e["eventType"] == "COMPLETE" and "/train/" in e["job"]["name"]]


def test_it_emits_a_start_and_a_complete_event_per_version(auditor, owned_model, graph):
    doc = lineage.lineage_document(user=auditor, model=owned_model)
    events = lineage_openlineage(doc)
    training = [e for e in events if "/train/" in e["job"]["name"]]

    assert [(e["job"]["name"], e["eventType"]) for e in training] == [
        ("owned-model/train/1.0.0", "START"),
        ("owned-model/train/1.0.0", "COMPLETE"),
        ("owned-model/train/2.0.0", "START"),
        ("owned-model/train/2.0.0", "COMPLETE"),
    ]
    assert training[0]["run"]["runId"] == training[1]["run"]["runId"]
    event = training[3]
    assert event["schemaURL"].startswith("https://openlineage.io/spec/")
    assert event["producer"].startswith("https://")
    assert event["job"]["namespace"] == "mlgov"
    assert event["job"]["facets"]["mlgov"]["model"] == "owned-model"
    assert event["job"]["facets"]["mlgov"]["version"] == "2.0.0"
    uuid.UUID(event["run"]["runId"])
    assert event["eventTime"].endswith("Z")
    assert event["outputs"][0]["namespace"] == "mlgov"
    assert event["outputs"][0]["name"] == "owned-model/2.0.0"
    artifact = event["outputs"][0]["facets"]["mlgov_artifact"]
    assert artifact["sha256"] == graph["v2"].artifact_sha256
    assert artifact["deployments"][0]["endpoint"] == "https://api.internal/score"
    inputs = {(i["namespace"], i["name"]) for i in event["inputs"]}
    namespace, name = graph["train"].uri.split("/", 3)[:3], graph["train"].uri.split("/", 3)[3]
    assert inputs == {("/".join(namespace), name)}
    facets = event["inputs"][0]["facets"]
    assert facets["version"]["datasetVersion"] == "2026-01"
    assert facets["ownership"]["owners"] == [{"name": "user:dana.data", "type": "OWNER"}]
    for facet in facets.values():
        assert facet["_producer"] and facet["_schemaURL"]
    # v1 read the evaluation set too; it has no version, so its hash stands in.
    v1_inputs = {i["facets"]["mlgov_dataset"]["slug"]: i for i in training[1]["inputs"]}
    assert v1_inputs["holdout"]["facets"]["mlgov_dataset"]["roles"] == ["evaluated_on"]
    holdout_version = v1_inputs["holdout"]["facets"]["version"]["datasetVersion"]
    assert holdout_version == graph["holdout"].content_hash


def test_it_keeps_run_ids_stable_across_calls_and_distinct_per_version(auditor, owned_model, graph):
    first = _completed_training(
        lineage_openlineage(lineage.lineage_document(user=auditor, model=owned_model))
    )
    again = _completed_training(lineage_openlineage(lineage.lineage_document(user=auditor)))
    by_job = {e["job"]["name"]: e["run"]["runId"] for e in again}

    assert [e["run"]["runId"] for e in first] == [by_job[e["job"]["name"]] for e in first]
    assert len({e["run"]["runId"] for e in again}) == len(again) == 3


def test_it_names_datasets_after_the_openlineage_convention():
    assert dataset_identity("s3://bucket/a/b.parquet", "b") == (
        "s3://bucket",
        "a/b.parquet",
    )
    assert dataset_identity("file:///data/x.csv", "x") == ("file", "/data/x.csv")
    assert dataset_identity("warehouse.loans", "loans") == ("mlgov", "datasets/loans")


def test_it_exports_the_document_and_events_as_sorted_json(auditor, owned_model, graph):
    doc = lineage.lineage_document(user=auditor, model=owned_model)
    data = lineage_json_bytes(doc, sample_meta())
    parsed = json.loads(data)

    assert set(parsed) == {"lineage", "openlineage", "meta"}
    assert parsed["lineage"] == doc
    assert len(_completed_training(parsed["openlineage"])) == 2
    assert data == lineage_json_bytes(doc, sample_meta())


def test_it_draws_owners_and_hashes_and_escapes_user_text(auditor, owned_model, graph):
    owned_model.name = HOSTILE
    owned_model.save()
    doc = lineage.lineage_document(user=auditor, model=owned_model)
    svg = lineage_svg(doc)

    assert svg.count("<svg") == 1
    assert graph["v2"].artifact_sha256[:12] in svg
    assert "dana.data" in svg
    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg
    assert f'href="{reverse("inventory:dataset_detail", kwargs={"slug": "train"})}"' in svg
    assert "href=" not in lineage_svg(doc, links=False)


def test_it_draws_one_diagram_per_model_of_the_inventory(auditor, graph):
    doc = lineage.lineage_document(user=auditor)
    svg = lineage_svg(doc)

    assert svg.count("<svg") == 2
    assert 'id="arrow-owned-model"' in svg and 'id="arrow-foreign-model"' in svg


def test_it_renders_html_with_the_tables_behind_the_diagram(auditor, owned_model, graph):
    owned_model.name = HOSTILE
    owned_model.save()
    doc = lineage.lineage_document(user=auditor, model=owned_model)
    html = lineage_html(doc, sample_meta(), for_pdf=False)

    assert "<script>" not in html
    assert graph["train"].content_hash in html
    assert graph["v2"].artifact_uri in html
    assert "https://api.internal/score" in html
    assert sample_meta()["audit_chain_head"]["hash"] in html


def test_its_renderers_read_nothing_but_the_document(auditor, graph, django_assert_num_queries):
    doc = lineage.lineage_document(user=auditor)

    with django_assert_num_queries(0):
        lineage_json_bytes(doc, sample_meta())
        lineage_svg(doc)
        lineage_html(doc, sample_meta(), for_pdf=False)
        lineage_html(doc, sample_meta(), for_pdf=True)


def test_lineage_queries_do_not_grow_with_the_number_of_models(
    auditor, django_assert_max_num_queries
):
    def make_models(count: int) -> None:
        for _ in range(count):
            model = RegisteredModelFactory()
            version = ModelVersionFactory(model=model)
            VersionDataset.objects.create(
                version=version, dataset=DatasetFactory(), role="trained_on"
            )
            DeploymentFactory(version=version)

    make_models(1)
    with django_assert_max_num_queries(12) as one:
        lineage.lineage_document(user=auditor)
    make_models(4)
    with django_assert_max_num_queries(len(one.captured_queries)):
        doc = lineage.lineage_document(user=auditor)
    assert doc["counts"]["version"] == 5


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs poppler-utils")
def test_its_pdf_holds_the_key_fields_and_attaches_the_json(auditor, owned_model, graph, tmp_path):
    doc = lineage.lineage_document(user=auditor, model=owned_model)
    pdf = lineage_pdf(doc, sample_meta())
    path = tmp_path / "lineage.pdf"
    path.write_bytes(pdf)

    text = subprocess.run(
        ["pdftotext", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    flat = " ".join(text.split())
    squeezed = "".join(text.split())  # long hashes and URIs wrap inside table cells
    assert "Lineage report: Owned model" in flat
    assert "2.0.0" in flat
    assert graph["v2"].artifact_sha256 in squeezed
    assert graph["train"].content_hash in squeezed
    assert "Dana Data" in flat
    assert "https://api.internal/score" in squeezed
    assert "Foreign model" in flat
    detached = subprocess.run(
        ["pdfdetach", "-list", str(path)], capture_output=True, text=True, check=True
    ).stdout
    assert "lineage.json" in detached
    out = tmp_path / "attached.json"
    subprocess.run(["pdfdetach", "-save", "1", "-o", str(out), str(path)], check=True)
    assert out.read_bytes() == lineage_json_bytes(doc, sample_meta())


# --- as of a past time (history) ----------------------------------------------------------


def test_it_omits_a_version_created_after_the_as_of_time(auditor, owned_model, graph):
    now = timezone.now()
    t = now - dt.timedelta(days=10)
    type(owned_model).objects.filter(pk=owned_model.pk).update(created_at=t - dt.timedelta(days=5))
    ModelVersion.objects.filter(pk=graph["v1"].pk).update(created_at=t - dt.timedelta(days=1))
    ModelVersion.objects.filter(pk=graph["v2"].pk).update(created_at=now - dt.timedelta(days=1))

    doc = lineage.lineage_document(user=auditor, model=owned_model, as_of=t)

    assert doc["as_of_requested"] is True
    assert "version:owned-model@1.0.0" in _ids(doc)
    assert "version:owned-model@2.0.0" not in _ids(doc)
    assert f"deployment:{graph['deployment'].pk}" not in _ids(doc)
    assert [e["job"]["name"] for e in _completed_training(lineage_openlineage(doc))] == [
        "owned-model/train/1.0.0"
    ]


def test_it_builds_the_same_graph_from_history_as_from_todays_rows(auditor, owned_model, graph):
    today = lineage.lineage_document(user=auditor, model=owned_model)
    rebuilt = lineage.lineage_document(
        user=auditor, model=owned_model, as_of=timezone.now() + dt.timedelta(seconds=1)
    )

    for key in ("nodes", "edges", "layers", "models", "counts", "scope"):
        assert rebuilt[key] == today[key], key


def test_it_rebuilds_dataset_links_and_feeds_as_they_stood_from_the_audit_trail(
    model_owner, admin_user, auditor, owned_model, foreign_model
):
    from apps.inventory import services

    train = DatasetFactory(slug="train")
    holdout = DatasetFactory(slug="holdout")
    v1 = services.model_version_register(
        actor=model_owner,
        model=owned_model,
        version="1.0.0",
        artifact_uri="s3://m/1.pkl",
        artifact_sha256="a" * 64,
        training_datasets=[train],
    )
    link = services.model_dependency_create(
        actor=model_owner, upstream=foreign_model, downstream=owned_model
    )
    t = timezone.now()
    services.model_version_update(actor=model_owner, version=v1, training_datasets=[holdout])
    services.model_dependency_delete(actor=admin_user, dependency=link)
    services.model_version_register(
        actor=model_owner,
        model=owned_model,
        version="2.0.0",
        artifact_uri="s3://m/2.pkl",
        artifact_sha256="b" * 64,
    )

    then = lineage.lineage_document(user=auditor, model=owned_model, as_of=t)
    now = lineage.lineage_document(user=auditor, model=owned_model)

    then_edges = {(e["source"], e["target"], e["kind"]) for e in then["edges"]}
    assert then_edges == {
        ("model:owned-model", "version:owned-model@1.0.0", "has_version"),
        ("dataset:train", "version:owned-model@1.0.0", "trained_on"),
        ("model:foreign-model", "model:owned-model", "feeds"),
    }
    assert _node(then, "model:foreign-model")["layer"] == 0  # it fed this model at T
    now_edges = {(e["source"], e["target"], e["kind"]) for e in now["edges"]}
    assert ("dataset:holdout", "version:owned-model@1.0.0", "trained_on") in now_edges
    assert "model:foreign-model" not in _ids(now)
    assert "version:owned-model@2.0.0" in _ids(now)


def test_as_of_lineage_queries_do_not_grow_with_the_number_of_models(
    auditor, django_assert_max_num_queries
):
    def make_models(count: int) -> None:
        for _ in range(count):
            model = RegisteredModelFactory()
            version = ModelVersionFactory(model=model)
            VersionDataset.objects.create(
                version=version, dataset=DatasetFactory(), role="trained_on"
            )
            DeploymentFactory(version=version)

    later = timezone.now() + dt.timedelta(hours=1)
    make_models(1)
    with django_assert_max_num_queries(20) as one:
        lineage.lineage_document(user=auditor, as_of=later)
    make_models(4)
    with django_assert_max_num_queries(len(one.captured_queries)):
        doc = lineage.lineage_document(user=auditor, as_of=later)
    assert doc["counts"]["version"] == 5


def test_the_document_of_today_reads_rows_not_inventory_instances(auditor, graph):
    """At 10,000 models an instance per model, version, dataset and deployment (with their
    owners) cost seconds: the document of today is built from rows."""
    from django.db.models.signals import post_init

    built: list[str] = []

    def count(sender, **kwargs):
        if sender._meta.app_label == "inventory":
            built.append(sender.__name__)

    post_init.connect(count)
    try:
        doc = lineage.lineage_document(user=auditor)
    finally:
        post_init.disconnect(count)
    assert built == []
    kinds = {n["kind"] for n in doc["nodes"]}
    assert kinds == {"dataset", "model", "version", "deployment"}
    owned = [n for n in doc["nodes"] if n["kind"] == "model" and n["owner"]]
    assert owned and all(set(n["owner"]) == {"username", "name"} for n in owned)
