"""The lineage report's JSON export: the lineage document and its OpenLineage run events.

Pure: takes the document of ``apps.reports.lineage.lineage_document`` (and the generation
metadata) and returns events or bytes, without touching the database.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

OPENLINEAGE_NAMESPACE = "mlgov"
#: The ``producer`` of every event and facet: a URI naming mlgov's lineage export (as first
#: published; kept so that events exported before and after stay comparable).
OPENLINEAGE_PRODUCER = "https://github.com/mlgov/mlgov/blob/main/apps/reports/lineage.py"
OPENLINEAGE_SCHEMA_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
VERSION_FACET_URL = (
    "https://openlineage.io/spec/facets/1-0-0/DatasetVersionDatasetFacet.json"
    "#/$defs/DatasetVersionDatasetFacet"
)
OWNERSHIP_FACET_URL = (
    "https://openlineage.io/spec/facets/1-0-0/OwnershipDatasetFacet.json"
    "#/$defs/OwnershipDatasetFacet"
)
JOB_OWNERSHIP_FACET_URL = (
    "https://openlineage.io/spec/facets/1-0-0/OwnershipJobFacet.json#/$defs/OwnershipJobFacet"
)
MLGOV_FACET_URL = OPENLINEAGE_PRODUCER + "#/facets/{name}"
#: Fixed namespace of the run ids: uuid5(RUN_NAMESPACE, "<model-slug>/<version>") names one
#: training run for good, so the same version yields the same runId in every export.
RUN_NAMESPACE = uuid.UUID("6a0f8a52-2f4e-5d53-9c1e-6d6c676f7601")


def _facet(url: str, **fields) -> dict:
    return {"_producer": OPENLINEAGE_PRODUCER, "_schemaURL": url, **fields}


def _owner_urn(owner: dict | None) -> list[dict]:
    return [{"name": f"user:{owner['username']}", "type": "OWNER"}] if owner else []


def dataset_identity(uri: str, slug: str) -> tuple[str, str]:
    """OpenLineage (namespace, name) of a dataset, after the OpenLineage naming convention:
    ``s3://bucket/key`` → (``s3://bucket``, ``key``), ``file:///p`` → (``file``, ``/p``).
    A URI without scheme and authority falls back to (``mlgov``, ``datasets/<slug>``)."""
    try:
        parts = urlsplit(uri.strip())
    except ValueError:
        parts = None
    if parts is not None and parts.scheme == "file" and parts.path:
        return "file", parts.path
    if parts is not None and parts.scheme and parts.netloc:
        name = parts.path.lstrip("/") or parts.netloc
        return f"{parts.scheme}://{parts.netloc}", name
    return OPENLINEAGE_NAMESPACE, f"datasets/{slug}"


def run_id(model_slug: str, version: str) -> str:
    """The stable runId of the training run that produced ``model_slug``'s ``version``."""
    return str(uuid.uuid5(RUN_NAMESPACE, f"{model_slug}/{version}"))


def lineage_openlineage(doc: Mapping[str, Any]) -> list[dict]:
    """One OpenLineage COMPLETE run event per version: the training job of that version, its
    input datasets (trained and evaluated on) and its output, the versioned model artefact
    (``<model>/<version>`` in namespace ``mlgov``) with its deployments in a facet."""
    nodes = {n["id"]: n for n in doc["nodes"]}
    inputs: dict[str, list[tuple[str, dict]]] = {}
    deployments: dict[str, list[dict]] = {}
    for edge in doc["edges"]:
        if edge["kind"] in ("trained_on", "evaluated_on"):
            inputs.setdefault(edge["target"], []).append((edge["kind"], nodes[edge["source"]]))
        elif edge["kind"] == "deployed_as":
            deployments.setdefault(edge["source"], []).append(nodes[edge["target"]])
    events = []
    for node in doc["nodes"]:
        if node["kind"] != "version":
            continue
        slug, version = node["model"], node["version"]
        model_node = nodes.get(f"model:{slug}")
        job_owners = _owner_urn(node["owner"])
        if model_node and model_node["details"].get("business_owner"):
            business = model_node["details"]["business_owner"]
            job_owners.append({"name": f"user:{business['username']}", "type": "BUSINESS_OWNER"})
        event_inputs = []
        for role, ds in sorted(inputs.get(node["id"], []), key=lambda p: (p[1]["id"], p[0])):
            namespace, name = dataset_identity(ds["uri"], ds["details"]["slug"])
            facets = {
                "ownership": _facet(OWNERSHIP_FACET_URL, owners=_owner_urn(ds["owner"])),
                "mlgov_dataset": _facet(
                    MLGOV_FACET_URL.format(name="DatasetFacet"),
                    slug=ds["details"]["slug"],
                    role=role,
                    uri=ds["uri"],
                    contentSha256=ds["hash"],
                    containsPersonalData=ds["details"]["contains_personal_data"],
                ),
            }
            dataset_version = ds["details"]["version"] or ds["hash"]
            if dataset_version:
                facets["version"] = _facet(VERSION_FACET_URL, datasetVersion=dataset_version)
            event_inputs.append({"namespace": namespace, "name": name, "facets": facets})
        served = sorted(deployments.get(node["id"], []), key=lambda d: d["id"])
        output = {
            "namespace": OPENLINEAGE_NAMESPACE,
            "name": f"{slug}/{version}",
            "facets": {
                "version": _facet(VERSION_FACET_URL, datasetVersion=version),
                "ownership": _facet(OWNERSHIP_FACET_URL, owners=_owner_urn(node["owner"])),
                "mlgov_artifact": _facet(
                    MLGOV_FACET_URL.format(name="ArtifactFacet"),
                    uri=node["uri"],
                    sha256=node["hash"],
                    stage=node["details"]["stage"],
                    codeCommit=node["details"]["code_commit"],
                    deployments=[
                        {
                            "id": d["id"],
                            "environment": d["details"]["environment"],
                            "endpoint": d["uri"],
                            "status": d["details"]["status"],
                            "deployedAt": d["details"]["deployed_at"],
                        }
                        for d in served
                    ],
                ),
            },
        }
        events.append(
            {
                "eventType": "COMPLETE",
                "eventTime": node["details"]["created_at"] or doc["as_of"],
                "producer": OPENLINEAGE_PRODUCER,
                "schemaURL": OPENLINEAGE_SCHEMA_URL,
                "run": {"runId": run_id(slug, version), "facets": {}},
                "job": {
                    "namespace": OPENLINEAGE_NAMESPACE,
                    "name": f"{slug}/train/{version}",
                    "facets": {"ownership": _facet(JOB_OWNERSHIP_FACET_URL, owners=job_owners)},
                },
                "inputs": event_inputs,
                "outputs": [output],
            }
        )
    events.sort(key=lambda e: (e["job"]["name"], e["eventTime"] or ""))
    return events


def lineage_json_bytes(doc: Mapping[str, Any], meta: Mapping[str, Any] | None = None) -> bytes:
    """The JSON export: ``{"lineage": doc, "openlineage": [run events], "meta": meta}``,
    indented, keys sorted, UTF-8. The same bytes are attached to the lineage PDF."""
    payload: dict[str, Any] = {"lineage": doc, "openlineage": lineage_openlineage(doc)}
    if meta is not None:
        payload["meta"] = meta
    return (json.dumps(payload, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()
