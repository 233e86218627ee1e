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

from apps.reports.formats import openlineage_spec as spec

OPENLINEAGE_NAMESPACE = "mlgov"
#: The ``producer`` of every event and facet: a URI naming mlgov's lineage export (as first
#: published; kept so that events exported before and after stay comparable).
OPENLINEAGE_PRODUCER = "https://github.com/mlgov/mlgov/blob/main/apps/reports/lineage.py"
OPENLINEAGE_SCHEMA_URL = spec.RUN_EVENT_SCHEMA_URL
_STANDARD = "https://openlineage.io/spec/facets/1-0-1/{name}.json#/$defs/{name}"
VERSION_FACET_URL = _STANDARD.format(name="DatasetVersionDatasetFacet")
OWNERSHIP_FACET_URL = _STANDARD.format(name="OwnershipDatasetFacet")
JOB_OWNERSHIP_FACET_URL = _STANDARD.format(name="OwnershipJobFacet")
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


def serve_run_id(model_slug: str) -> str:
    """The stable runId of ``model_slug``'s scoring job (the job that model feeds run on)."""
    return str(uuid.uuid5(RUN_NAMESPACE, f"{model_slug}/serve"))


def model_output_name(model_slug: str) -> str:
    """The dataset (namespace ``mlgov``) standing for a model's outputs, which the models it
    feeds read."""
    return f"models/{model_slug}/outputs"


def _run_events(
    *,
    event_time: str | None,
    run: str,
    job: dict,
    inputs: list[dict],
    outputs: list[dict],
) -> list[dict]:
    """START and COMPLETE of one run. The START names the run and its job; the COMPLETE
    carries the datasets (each once), as OpenLineage consumers accumulate them per run."""
    common = {
        "eventTime": event_time,
        "producer": OPENLINEAGE_PRODUCER,
        "schemaURL": OPENLINEAGE_SCHEMA_URL,
        "run": {"runId": run, "facets": {}},
        "job": job,
    }
    return [
        {"eventType": "START", **common, "inputs": [], "outputs": []},
        {"eventType": "COMPLETE", **common, "inputs": inputs, "outputs": outputs},
    ]


def _dataset_input(ds: dict, roles: list[str], base: str) -> dict:
    namespace, name = dataset_identity(ds["uri"], ds["details"]["slug"])
    facets = {
        "ownership": _facet(OWNERSHIP_FACET_URL, owners=_owner_urn(ds["owner"])),
        "mlgov_dataset": _facet(
            spec.facet_schema_url("MlgovDatasetFacet", base),
            slug=ds["details"]["slug"],
            roles=sorted(roles),
            uri=ds["uri"],
            contentSha256=ds["hash"],
            containsPersonalData=ds["details"]["contains_personal_data"],
        ),
    }
    dataset_version = ds["details"]["version"] or ds["hash"]
    if dataset_version:
        facets["version"] = _facet(VERSION_FACET_URL, datasetVersion=dataset_version)
    return {"namespace": namespace, "name": name, "facets": facets}


def lineage_openlineage(doc: Mapping[str, Any], *, base_url: str | None = None) -> list[dict]:
    """The lineage document as OpenLineage run events (spec 2-0-2), START and COMPLETE per run:

    - one training run per version: its input datasets (trained and evaluated on, each once,
      with the roles in the ``mlgov_dataset`` facet) and its output, the versioned model
      artefact (``<model>/<version>`` in namespace ``mlgov``) with its deployments;
    - one scoring run per model that takes part in a model-to-model feed: it reads the
      outputs (``models/<slug>/outputs``) of the models feeding it and writes its own.

    mlgov's custom facets name, in ``_schemaURL``, the JSON Schema documents mlgov serves
    under ``base_url`` (``MLGOV_BASE_URL`` when not given).
    """
    if base_url is None:
        from django.conf import settings

        base_url = getattr(settings, "MLGOV_BASE_URL", "")
    nodes = {n["id"]: n for n in doc["nodes"]}
    inputs: dict[str, dict[str, list[str]]] = {}
    deployments: dict[str, list[dict]] = {}
    feeds: dict[str, set[str]] = {}
    for edge in doc["edges"]:
        if edge["kind"] in ("trained_on", "evaluated_on"):
            roles = inputs.setdefault(edge["target"], {}).setdefault(edge["source"], [])
            roles.append(edge["kind"])
        elif edge["kind"] == "deployed_as":
            deployments.setdefault(edge["source"], []).append(nodes[edge["target"]])
        elif edge["kind"] == "feeds":
            upstream, downstream = nodes[edge["source"]]["model"], nodes[edge["target"]]["model"]
            if upstream and downstream:
                feeds.setdefault(downstream, set()).add(upstream)
                feeds.setdefault(upstream, set())
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
        event_inputs = [
            _dataset_input(nodes[ds_id], roles, base_url)
            for ds_id, roles in sorted(inputs.get(node["id"], {}).items())
        ]
        served = sorted(deployments.get(node["id"], []), key=lambda d: d["id"])
        output = {
            "namespace": OPENLINEAGE_NAMESPACE,
            "name": f"{slug}/{version}",
            "facets": {
                "version": _facet(VERSION_FACET_URL, datasetVersion=version),
                "ownership": _facet(OWNERSHIP_FACET_URL, owners=_owner_urn(node["owner"])),
                "mlgov_artifact": _facet(
                    spec.facet_schema_url("MlgovArtifactFacet", base_url),
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
        job = {
            "namespace": OPENLINEAGE_NAMESPACE,
            "name": f"{slug}/train/{version}",
            "facets": {
                "ownership": _facet(JOB_OWNERSHIP_FACET_URL, owners=job_owners),
                "mlgov": _facet(
                    spec.facet_schema_url("MlgovJobFacet", base_url), model=slug, version=version
                ),
            },
        }
        events += _run_events(
            event_time=node["details"]["created_at"] or doc["as_of"],
            run=run_id(slug, version),
            job=job,
            inputs=event_inputs,
            outputs=[output],
        )
    for slug, upstream in sorted(feeds.items()):
        job = {
            "namespace": OPENLINEAGE_NAMESPACE,
            "name": f"{slug}/serve",
            "facets": {
                "mlgov": _facet(spec.facet_schema_url("MlgovJobFacet", base_url), model=slug),
                "mlgov_feeds": _facet(
                    spec.facet_schema_url("MlgovFeedsJobFacet", base_url),
                    upstream=sorted(upstream),
                ),
            },
        }
        events += _run_events(
            event_time=doc["as_of"],
            run=serve_run_id(slug),
            job=job,
            inputs=[
                {"namespace": OPENLINEAGE_NAMESPACE, "name": model_output_name(u)}
                for u in sorted(upstream)
            ],
            outputs=[{"namespace": OPENLINEAGE_NAMESPACE, "name": model_output_name(slug)}],
        )
    order = {"START": 0, "COMPLETE": 1}
    events.sort(key=lambda e: (e["job"]["name"], e["eventTime"] or "", order[e["eventType"]]))
    return events


def lineage_json_bytes(doc: Mapping[str, Any], meta: Mapping[str, Any] | None = None) -> bytes:
    """The JSON export: ``{"lineage": doc, "openlineage": [run events], "meta": meta}``,
    indented, keys sorted, UTF-8. The same bytes are attached to the lineage PDF."""
    payload: dict[str, Any] = {"lineage": doc, "openlineage": lineage_openlineage(doc)}
    if meta is not None:
        payload["meta"] = meta
    return (json.dumps(payload, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()
