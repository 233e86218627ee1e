"""Lineage report: datasets → versions → deployments → downstream models, for one model or
the whole inventory the user may see, now or as of a past time T.

The graph of today comes from ``apps.inventory.selectors.model_lineage`` /
``inventory_lineage`` (the graph the Lineage tab draws), enriched with owners, hashes and
URIs. As of T, the same graph is rebuilt from ``apps.reports.history.rows_as_of`` (versions,
deployments, dependencies and dataset links as they stood at T), so both paths produce one
document shape with the same node ids:

``dataset:<slug>``, ``model:<slug>``, ``version:<model-slug>@<version>``, ``deployment:<id>``.

Layers (columns of the drawing): 0 inputs (datasets, and models outside the scope that feed
it), 1 the models in scope and their versions, 2 deployments, 3 models outside the scope that
the scope feeds. For one model this is exactly the Lineage tab's layout, which
``lineage_svg`` reuses (``apps.core.templatetags.mlgov_svg.lineage_layout``).

Every read is restricted to the models the user sees (``model_visibility_q``): a node of a
model the user may not see never appears, nor do its versions, deployments or links.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.safestring import mark_safe

from apps.accounts import roles
from apps.accounts.models import User
from apps.core import clock
from apps.core.templatetags.mlgov_svg import lineage_layout
from apps.inventory import selectors
from apps.inventory.choices import DeploymentEnvironment, DeploymentStatus, VersionStage
from apps.inventory.models import (
    Dataset,
    Deployment,
    ModelDependency,
    ModelVersion,
    RegisteredModel,
    VersionDataset,
)

SCHEMA = "mlgov.lineage/1"

LAYERS = (
    ("inputs", "Datasets and upstream models"),
    ("models", "Models and versions"),
    ("deployments", "Deployments"),
    ("downstream", "Downstream models"),
)
KIND_ORDER = {"dataset": 0, "model": 1, "version": 2, "deployment": 3}

# --- OpenLineage --------------------------------------------------------------------------

OPENLINEAGE_NAMESPACE = "mlgov"
#: The ``producer`` of every event and facet: a URI naming mlgov's lineage export.
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


# --- small helpers ------------------------------------------------------------------------


def iso(value: Any) -> str | None:
    """UTC ISO 8601 to the second (``2026-11-24T10:15:00Z``, the format of every data
    export) of a datetime, a date (``2026-11-24``) or a stored ISO string."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        parsed = parse_datetime(value.replace("Z", "+00:00"))
        if parsed is None:
            return value  # a date string or an unparseable value: shown as stored
        value = parsed
    if isinstance(value, datetime):
        if timezone.is_naive(value):
            value = timezone.make_aware(value, UTC)
        return value.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def person(user: User | None) -> dict | None:
    if user is None:
        return None
    return {"username": user.username, "name": user.get_full_name() or user.username}


def _label(choices, value: str) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return value or ""


def _users(ids: Iterable[int | None]) -> dict[int, User]:
    wanted = {i for i in ids if i}
    return {u.pk: u for u in User.objects.filter(pk__in=wanted)} if wanted else {}


# --- the document -------------------------------------------------------------------------


def lineage_document(
    *, user, model: RegisteredModel | None = None, as_of: datetime | None = None
) -> dict:
    """The lineage of ``model`` (or of every model the user sees) as a JSON-ready dict.

    ``as_of`` None means now (the inventory's current graph); a time T rebuilds the graph from
    the stored history. Raises PermissionDenied when the user may not see ``model``. A
    constant number of queries whatever the inventory's size.
    """
    if model is not None and not selectors.model_list(user=user).filter(pk=model.pk).exists():
        raise PermissionDenied("You may not see this model.")
    if as_of is None:
        graph = (
            selectors.model_lineage(user=user, model=model)
            if model is not None
            else selectors.inventory_lineage(user=user)
        )
        details = _details_now(graph)
        # The inventory graph holds every model the user sees, linked or not.
        scope = (
            [model.slug]
            if model is not None
            else [n["slug"] for n in graph["nodes"] if n["type"] == "model"]
        )
    else:
        graph, details, scope = _graph_as_of(user=user, model=model, as_of=as_of)
    moment = as_of or clock.now()
    return _document(
        graph,
        details,
        scope=scope,
        model=model,
        as_of=iso(moment),
        as_of_requested=as_of is not None,
    )


def _document(
    graph: dict,
    details: Mapping[str, dict],
    *,
    scope: list[str],
    model: RegisteredModel | None,
    as_of: str | None,
    as_of_requested: bool,
) -> dict:
    in_scope = {f"model:{slug}" for slug in scope}
    model_ids = {n["id"] for n in graph["nodes"] if n["type"] == "model"}
    feeds_into_scope = {
        e["source"] for e in graph["edges"] if e["target"] in in_scope and e["source"] in model_ids
    }
    nodes = []
    for node in graph["nodes"]:
        kind = node["type"]
        extra = details.get(node["id"], {})
        layer = _layer(node, in_scope=in_scope, feeds_into_scope=feeds_into_scope)
        nodes.append(
            {
                "id": node["id"],
                "kind": kind,
                "label": node["label"],
                "layer": layer,
                "owner": extra.get("owner"),
                "hash": extra.get("hash") or "",
                "uri": extra.get("uri") or "",
                "model": extra.get("model"),
                "version": extra.get("version"),
                "details": extra.get("details", {}),
            }
        )
    nodes.sort(key=lambda n: (n["layer"], KIND_ORDER[n["kind"]], n["label"], n["id"]))
    known = {n["id"] for n in nodes}
    edges = sorted(
        (
            {"source": e["source"], "target": e["target"], "kind": e["type"]}
            for e in graph["edges"]
            if e["source"] in known and e["target"] in known
        ),
        key=lambda e: (e["source"], e["target"], e["kind"]),
    )
    layers = [
        {
            "index": index,
            "key": key,
            "label": label,
            "nodes": [n["id"] for n in nodes if n["layer"] == index],
        }
        for index, (key, label) in enumerate(LAYERS)
    ]
    counts = {kind: sum(1 for n in nodes if n["kind"] == kind) for kind in KIND_ORDER}
    return {
        "schema": SCHEMA,
        "scope": {
            "model": model.slug if model is not None else None,
            "name": model.name if model is not None else None,
        },
        "as_of": as_of,
        "as_of_requested": as_of_requested,
        "models": sorted(s for s in scope if f"model:{s}" in known),
        "nodes": nodes,
        "edges": edges,
        "layers": layers,
        "counts": counts,
    }


def _layer(node: Mapping[str, Any], *, in_scope: set[str], feeds_into_scope: set[str]) -> int:
    """The column of a node: inputs 0, models in scope and versions 1, deployments 2,
    models outside the scope that it feeds 3."""
    kind = node["type"]
    if kind == "dataset":
        return 0
    if kind == "model":
        if node["id"] in in_scope:
            return 1
        return 0 if node["id"] in feeds_into_scope else 3
    return 1 if kind == "version" else 2


def _details_now(graph: dict) -> dict[str, dict]:
    """Owners, hashes and URIs of the selector graph's nodes: four queries in all."""
    ids = {n["id"] for n in graph["nodes"]}
    model_slugs = {i.split(":", 1)[1] for i in ids if i.startswith("model:")}
    version_keys = {i.split(":", 1)[1] for i in ids if i.startswith("version:")}
    dataset_slugs = {i.split(":", 1)[1] for i in ids if i.startswith("dataset:")}
    deployment_pks = [int(i.split(":", 1)[1]) for i in ids if i.startswith("deployment:")]
    version_models = {key.split("@", 1)[0] for key in version_keys}

    models = {
        m.slug: m
        for m in RegisteredModel.objects.filter(slug__in=model_slugs | version_models)
        .select_related("owner", "business_owner")
        .order_by()
    }
    details: dict[str, dict] = {}
    for slug, m in models.items():
        details[f"model:{slug}"] = _model_details(
            slug=slug,
            name=m.name,
            status=m.status,
            risk_tier=m.risk_tier,
            owner=person(m.owner),
            business_owner=person(m.business_owner),
        )
    versions = (
        ModelVersion.objects.filter(model__slug__in=version_models)
        .select_related("model", "created_by")
        .order_by()
    )
    for v in versions:
        key = f"version:{v.model.slug}@{v.version}"
        if key not in ids:
            continue
        owner = details.get(f"model:{v.model.slug}", {}).get("owner")
        details[key] = _version_details(
            model_slug=v.model.slug,
            version=v.version,
            stage=v.stage,
            artifact_uri=v.artifact_uri,
            artifact_sha256=v.artifact_sha256,
            code_commit=v.code_commit,
            created_at=v.created_at,
            created_by=person(v.created_by),
            owner=owner,
        )
    for ds in Dataset.objects.filter(slug__in=dataset_slugs).select_related("owner"):
        details[f"dataset:{ds.slug}"] = _dataset_details(
            slug=ds.slug,
            name=ds.name,
            version=ds.version,
            uri=ds.uri,
            content_hash=ds.content_hash,
            owner=person(ds.owner),
            contains_personal_data=ds.contains_personal_data,
        )
    for dep in Deployment.objects.filter(pk__in=deployment_pks).select_related("version__model"):
        slug = dep.version.model.slug
        details[f"deployment:{dep.pk}"] = _deployment_details(
            model_slug=slug,
            version=dep.version.version,
            artifact_sha256=dep.version.artifact_sha256,
            environment=dep.environment,
            endpoint=dep.endpoint,
            consumers=dep.consumers,
            status=dep.status,
            deployed_at=dep.deployed_at,
            owner=details.get(f"model:{slug}", {}).get("owner"),
        )
    return details


def _model_details(*, slug, name, status, risk_tier, owner, business_owner) -> dict:
    return {
        "owner": owner,
        "hash": "",
        "uri": "",
        "model": slug,
        "version": None,
        "details": {
            "name": name,
            "status": status,
            "risk_tier": risk_tier,
            "business_owner": business_owner,
        },
    }


def _version_details(
    *,
    model_slug,
    version,
    stage,
    artifact_uri,
    artifact_sha256,
    code_commit,
    created_at,
    created_by,
    owner,
) -> dict:
    return {
        "owner": owner,
        "hash": artifact_sha256 or "",
        "uri": artifact_uri or "",
        "model": model_slug,
        "version": version,
        "details": {
            "stage": stage,
            "stage_label": _label(VersionStage, stage),
            "code_commit": code_commit or "",
            "created_at": iso(created_at),
            "created_by": created_by,
        },
    }


def _dataset_details(
    *, slug, name, version, uri, content_hash, owner, contains_personal_data
) -> dict:
    return {
        "owner": owner,
        "hash": content_hash or "",
        "uri": uri or "",
        "model": None,
        "version": None,
        "details": {
            "slug": slug,
            "name": name,
            "version": version or "",
            "contains_personal_data": bool(contains_personal_data),
        },
    }


def _deployment_details(
    *,
    model_slug,
    version,
    artifact_sha256,
    environment,
    endpoint,
    consumers,
    status,
    deployed_at,
    owner,
) -> dict:
    return {
        "owner": owner,
        "hash": artifact_sha256 or "",
        "uri": endpoint or "",
        "model": model_slug,
        "version": version,
        "details": {
            "environment": environment,
            "environment_label": _label(DeploymentEnvironment, environment),
            "status": status,
            "status_label": _label(DeploymentStatus, status),
            "consumers": consumers or "",
            "deployed_at": iso(deployed_at),
        },
    }


def _graph_as_of(
    *, user, model: RegisteredModel | None, as_of: datetime
) -> tuple[dict, dict[str, dict], list[str]]:
    """The selector-shaped graph and node details as they stood at ``as_of``, from history.

    Visibility is today's (who may read the report now) applied to the rows of T. A
    version's datasets are audited on the version itself (``"role:slug"`` strings), so the
    links of T come from the version's history, not from today's link rows.
    """
    from apps.reports.history import records_as_of, rows_as_of

    ref = model.pk if model is not None else None
    visible_q = selectors.model_visibility_q(user)
    visible = RegisteredModel.objects.filter(visible_q)
    sees_all = bool(roles.roles_of(user) & roles.OVERSIGHT_ROLES)
    model_rows = {
        r["pk"]: r
        for r in rows_as_of(
            visible,
            as_of=as_of,
            fields=["slug", "name", "status", "risk_tier", "owner_id", "business_owner_id"],
        )
    }
    visible_pks = set(visible.values_list("pk", flat=True))
    model_rows = {
        pk: r
        for pk, r in model_rows.items()
        # A model deleted after T is restored from history; today's visibility cannot be
        # asked of it, so it shows to those who see everything and to the people it named.
        if pk in visible_pks or sees_all or user.pk in (r["owner_id"], r["business_owner_id"])
    }
    if model is not None:
        scope_pks = {model.pk} & set(model_rows)
        dep_qs = ModelDependency.objects.filter(Q(upstream=model) | Q(downstream=model))
        version_qs = ModelVersion.objects.filter(model=model)
    else:
        scope_pks = set(model_rows)
        dep_qs = ModelDependency.objects.filter(upstream__in=visible, downstream__in=visible)
        version_qs = ModelVersion.objects.filter(model__in=visible)
    dependencies = [
        r
        for r in rows_as_of(
            dep_qs, as_of=as_of, model_ref=ref, fields=["upstream_id", "downstream_id", "kind"]
        )
        if r["upstream_id"] in model_rows
        and r["downstream_id"] in model_rows
        and (scope_pks & {r["upstream_id"], r["downstream_id"]})
    ]
    links_today: dict[int, list[str]] = {}
    for version_id, role, slug in VersionDataset.objects.filter(version__in=version_qs).values_list(
        "version_id", "role", "dataset__slug"
    ):
        links_today.setdefault(version_id, []).append(f"{role}:{slug}")
    versions = {
        record.pk: {"pk": record.pk, **record.values}
        for record in records_as_of(
            version_qs,
            as_of=as_of,
            model_ref=ref,
            fields=[
                "model_id",
                "version",
                "stage",
                "artifact_uri",
                "artifact_sha256",
                "code_commit",
                "created_at",
                "created_by_id",
                "datasets",
            ],
            virtual={"datasets": {pk: sorted(v) for pk, v in links_today.items()}},
        )
        if record.values["model_id"] in scope_pks
    }
    deployments = [
        r
        for r in rows_as_of(
            Deployment.objects.filter(version__in=version_qs),
            as_of=as_of,
            model_ref=ref,
            fields=["version_id", "environment", "endpoint", "consumers", "status", "deployed_at"],
        )
        if r["version_id"] in versions
    ]
    # Datasets are few; reading them all keeps a slug renamed after T resolvable.
    datasets = {
        r["slug"]: r
        for r in rows_as_of(
            Dataset.objects.all(),
            as_of=as_of,
            fields=[
                "slug",
                "name",
                "version",
                "uri",
                "content_hash",
                "owner_id",
                "contains_personal_data",
            ],
        )
    }
    users = _users(
        [r["owner_id"] for r in model_rows.values()]
        + [r["business_owner_id"] for r in model_rows.values()]
        + [r["created_by_id"] for r in versions.values()]
        + [r["owner_id"] for r in datasets.values()]
    )

    nodes: dict[str, dict] = {}
    edges: list[dict] = []
    details: dict[str, dict] = {}

    def model_node(pk: int) -> str:
        row = model_rows[pk]
        node_id = f"model:{row['slug']}"
        if node_id not in nodes:
            nodes[node_id] = {"id": node_id, "type": "model", "label": row["name"]}
            details[node_id] = _model_details(
                slug=row["slug"],
                name=row["name"],
                status=row["status"],
                risk_tier=row["risk_tier"],
                owner=person(users.get(row["owner_id"])),
                business_owner=person(users.get(row["business_owner_id"])),
            )
        return node_id

    for pk in sorted(scope_pks):
        model_node(pk)
    for row in versions.values():
        mid = model_node(row["model_id"])
        slug = model_rows[row["model_id"]]["slug"]
        vid = f"version:{slug}@{row['version']}"
        row["node_id"] = vid
        nodes[vid] = {"id": vid, "type": "version", "label": row["version"]}
        details[vid] = _version_details(
            model_slug=slug,
            version=row["version"],
            stage=row["stage"],
            artifact_uri=row["artifact_uri"],
            artifact_sha256=row["artifact_sha256"],
            code_commit=row["code_commit"],
            created_at=row["created_at"],
            created_by=person(users.get(row["created_by_id"])),
            owner=details[mid]["owner"],
        )
        edges.append({"source": mid, "target": vid, "type": "has_version"})
        for entry in row["datasets"] or []:
            role, _, dataset_slug = str(entry).partition(":")
            ds = datasets.get(dataset_slug)
            if ds is None:
                continue
            did = f"dataset:{ds['slug']}"
            label = f"{ds['name']} {ds['version'] or ''}".strip()
            nodes.setdefault(did, {"id": did, "type": "dataset", "label": label})
            details[did] = _dataset_details(
                slug=ds["slug"],
                name=ds["name"],
                version=ds["version"],
                uri=ds["uri"],
                content_hash=ds["content_hash"],
                owner=person(users.get(ds["owner_id"])),
                contains_personal_data=ds["contains_personal_data"],
            )
            edges.append({"source": did, "target": vid, "type": role})
    for dep in deployments:
        version = versions[dep["version_id"]]
        slug = model_rows[version["model_id"]]["slug"]
        nid = f"deployment:{dep['pk']}"
        env_label = _label(DeploymentEnvironment, dep["environment"])
        nodes[nid] = {
            "id": nid,
            "type": "deployment",
            "label": f"{env_label} {dep['endpoint'] or ''}".strip(),
        }
        details[nid] = _deployment_details(
            model_slug=slug,
            version=version["version"],
            artifact_sha256=version["artifact_sha256"],
            environment=dep["environment"],
            endpoint=dep["endpoint"],
            consumers=dep["consumers"],
            status=dep["status"],
            deployed_at=dep["deployed_at"],
            owner=details[f"model:{slug}"]["owner"],
        )
        edges.append({"source": version["node_id"], "target": nid, "type": "deployed_as"})
    for dep in dependencies:
        edges.append(
            {
                "source": model_node(dep["upstream_id"]),
                "target": model_node(dep["downstream_id"]),
                "type": dep["kind"],
            }
        )
    scope = [model_rows[pk]["slug"] for pk in scope_pks]
    return {"nodes": list(nodes.values()), "edges": edges}, details, scope


# --- OpenLineage run events ---------------------------------------------------------------


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


# --- drawing ------------------------------------------------------------------------------


def _short_hash(value: str) -> str:
    return value[:12] if value else "no hash"


def _caption(node: Mapping[str, Any]) -> str:
    """The second line of a box: owner and hash, what an auditor looks for first."""
    owner = (node.get("owner") or {}).get("username", "")
    if node["kind"] == "version":
        return f"{node['details']['stage']} · {_short_hash(node['hash'])}"
    if node["kind"] == "dataset":
        return f"{owner or 'no owner'} · {_short_hash(node['hash'])}"
    if node["kind"] == "deployment":
        return f"{node['details']['status']} · v{node['version']}"
    return f"owner {owner}" if owner else "model"


def _model_link(edge: Mapping[str, str]) -> bool:
    """A model → model edge (the upstream model's output feeds the downstream one)."""
    return edge["source"].startswith("model:") and edge["target"].startswith("model:")


class _Index:
    """A document's nodes by id and edges by endpoint, built once: drawing every model of a
    large inventory stays linear in the graph's size."""

    def __init__(self, doc: Mapping[str, Any]):
        self.by_id: dict[str, dict] = {n["id"]: n for n in doc["nodes"]}
        self.out: dict[str, list[dict]] = {}
        self.into: dict[str, list[dict]] = {}
        for edge in doc["edges"]:
            self.out.setdefault(edge["source"], []).append(edge)
            self.into.setdefault(edge["target"], []).append(edge)

    def versions(self, center: str) -> list[dict]:
        return [
            self.by_id[e["target"]]
            for e in self.out.get(center, [])
            if e["kind"] == "has_version" and e["target"] in self.by_id
        ]

    def edges_of(self, node_id: str) -> list[dict]:
        return self.out.get(node_id, []) + self.into.get(node_id, [])


def neighbourhood(doc: Mapping[str, Any], slug: str, *, index: _Index | None = None) -> dict:
    """The part of ``doc`` around one model, in the selector graph's shape: the model, its
    versions, their datasets and deployments, and the models it feeds or is fed by."""
    index = index or _Index(doc)
    center = f"model:{slug}"
    if center not in index.by_id:
        return {"nodes": [], "edges": []}
    keep = {center}
    for version in index.versions(center):
        for e in index.edges_of(version["id"]):
            keep.update((e["source"], e["target"]))
    for e in index.edges_of(center):
        if _model_link(e):
            keep.update((e["source"], e["target"]))
    nodes = []
    edges = []
    for node_id in sorted(keep):
        n = index.by_id[node_id]
        entry = {"id": n["id"], "type": n["kind"], "label": n["label"]}
        if n["kind"] in ("dataset", "model"):
            entry["slug"] = n["details"].get("slug") or n["model"]
        if n["kind"] == "version":
            entry["stage"] = n["details"]["stage"]
        if n["kind"] == "deployment":
            entry["status"] = n["details"]["status"]
        nodes.append(entry)
        edges.extend(
            {"source": e["source"], "target": e["target"], "type": e["kind"]}
            for e in index.out.get(node_id, [])
            if e["target"] in keep
        )
    return {"nodes": nodes, "edges": edges}


def model_svg(
    doc: Mapping[str, Any], slug: str, *, links: bool = True, index: _Index | None = None
) -> str:
    """The layered diagram of one model of ``doc``: the Lineage tab's layout
    (``lineage_layout`` and ``includes/lineage.svg.html``) with owners and hashes in the
    boxes. ``links`` False drops the links to app pages (for PDF)."""
    index = index or _Index(doc)
    center = f"model:{slug}"
    layout = lineage_layout(neighbourhood(doc, slug, index=index), center)
    for placed in layout["nodes"]:
        placed["caption"] = _caption(index.by_id[placed["id"]])
        if not links:
            placed["href"] = ""
    name = index.by_id[center]["label"] if center in index.by_id else slug
    svg = render_to_string(
        "includes/lineage.svg.html", {"layout": layout, "title": f"Lineage of {name}"}
    )
    # Several diagrams share one page: give each its own element ids. The markup is the
    # app template's output (user text escaped there); slugs are [a-z0-9-] only.
    return mark_safe(  # noqa: S308
        svg.replace('id="arrow"', f'id="arrow-{slug}"')
        .replace("url(#arrow)", f"url(#arrow-{slug})")
        .replace("lineage-title", f"lineage-title-{slug}")
    )


def lineage_svg(doc: Mapping[str, Any], *, links: bool = True) -> str:
    """The diagrams of ``doc``: the scope model's, or one per model for the inventory."""
    index = _Index(doc)
    return mark_safe(  # noqa: S308
        "\n".join(model_svg(doc, slug, links=links, index=index) for slug in doc["models"])
    )


# --- HTML and PDF -------------------------------------------------------------------------


def _sections(doc: Mapping[str, Any], *, links: bool) -> list[dict]:
    """One section per model in scope: its diagram and the tables behind it."""
    index = _Index(doc)
    sections = []
    for slug in doc["models"]:
        center = f"model:{slug}"
        versions = index.versions(center)
        inputs = []
        deployments = []
        for version in versions:
            for e in index.into.get(version["id"], []):
                if e["kind"] in ("trained_on", "evaluated_on"):
                    inputs.append(
                        {"role": e["kind"], "dataset": index.by_id[e["source"]], "version": version}
                    )
            deployments += [
                index.by_id[e["target"]]
                for e in index.out.get(version["id"], [])
                if e["kind"] == "deployed_as"
            ]
        links_of = [e for e in index.edges_of(center) if _model_link(e)]
        sections.append(
            {
                "model": index.by_id[center],
                "svg": model_svg(doc, slug, links=links, index=index),
                "versions": sorted(
                    versions, key=lambda v: (v["details"]["created_at"] or "", v["label"])
                )[::-1],
                "inputs": sorted(
                    inputs, key=lambda i: (i["version"]["label"], i["dataset"]["label"])
                ),
                "deployments": sorted(deployments, key=lambda d: d["id"]),
                "upstream": [index.by_id[e["source"]] for e in links_of if e["target"] == center],
                "downstream": [index.by_id[e["target"]] for e in links_of if e["source"] == center],
            }
        )
    return sections


def lineage_html(doc: Mapping[str, Any], meta: Mapping[str, Any], *, for_pdf: bool) -> str:
    """The lineage report as one HTML document (printable in the browser; the PDF's source).

    User text is escaped by the template; the SVG is rendered by the app's own template."""
    from apps.reports.pdf import PRINT_CSS, stylesheet_text

    context = {
        "doc": doc,
        "meta": meta,
        "for_pdf": for_pdf,
        "sections": _sections(doc, links=not for_pdf),
        "model_links": sum(1 for e in doc["edges"] if _model_link(e)),
        "print_css": "" if for_pdf else stylesheet_text(PRINT_CSS),
        "title": (
            f"Lineage report: {doc['scope']['name']}"
            if doc["scope"]["model"]
            else "Lineage report: model inventory"
        ),
    }
    return render_to_string("reports/lineage/report.html", context)


def lineage_pdf(doc: Mapping[str, Any], meta: Mapping[str, Any]) -> bytes:
    """PDF/A-3b of the lineage report, with the JSON export attached as ``lineage.json``."""
    from apps.reports.pdf import PdfAttachment, render_pdf

    attachment = PdfAttachment(
        name="lineage.json",
        data=lineage_json_bytes(doc, meta),
        description="Lineage graph and OpenLineage run events (JSON export)",
        mime="application/json",
    )
    return render_pdf(lineage_html(doc, meta, for_pdf=True), attachments=[attachment])
