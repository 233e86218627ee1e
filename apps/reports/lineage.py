"""Lineage document: datasets → versions → deployments → downstream models, for one model or
the whole inventory the user may see, now or as of a past time T.

The graph of today comes from ``apps.inventory.selectors.model_lineage`` /
``inventory_lineage`` (the graph the Lineage tab draws), enriched with owners, hashes and
URIs. As of T, the same graph is rebuilt from ``apps.reports.history.rows_as_of`` (versions,
deployments, dependencies and dataset links as they stood at T), so both paths produce one
document shape with the same node ids:

``dataset:<slug>``, ``model:<slug>``, ``version:<model-slug>@<version>``, ``deployment:<id>``.

Layers (columns of the drawing): 0 inputs (datasets, and models outside the scope that feed
it), 1 the models in scope and their versions, 2 deployments, 3 models outside the scope that
the scope feeds. For one model this is exactly the Lineage tab's layout
(``apps.core.templatetags.mlgov_svg.lineage_layout``), which the diagrams of
``apps.reports.formats.lineage_svg`` reuse.

Every read is restricted to the models the user sees (``model_visibility_q``): a node of a
model the user may not see never appears, nor do its versions, deployments or links.

This module holds the reads; the renderers of the document (OpenLineage events and the JSON
export, the SVG diagrams, the HTML and PDF report) are in ``apps.reports.formats``
(``openlineage``, ``lineage_svg``, ``lineage_report``) and read nothing but the document.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from apps.accounts.models import User
from apps.core import clock, roles
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


def _person(username: str | None, first_name: str = "", last_name: str = "") -> dict | None:
    """``person`` of a user read as joined columns (``get_full_name`` is first and last name,
    stripped), for rows read without instances."""
    if username is None:
        return None
    return {"username": username, "name": f"{first_name} {last_name}".strip() or username}


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
    """Owners, hashes and URIs of the selector graph's nodes: four queries in all, read as rows."""
    ids = {n["id"] for n in graph["nodes"]}
    model_slugs = {i.split(":", 1)[1] for i in ids if i.startswith("model:")}
    version_keys = {i.split(":", 1)[1] for i in ids if i.startswith("version:")}
    dataset_slugs = {i.split(":", 1)[1] for i in ids if i.startswith("dataset:")}
    deployment_pks = [int(i.split(":", 1)[1]) for i in ids if i.startswith("deployment:")]
    version_models = {key.split("@", 1)[0] for key in version_keys}

    def people(prefix: str) -> list[str]:
        return [f"{prefix}__username", f"{prefix}__first_name", f"{prefix}__last_name"]

    # Rows, not instances (values_list, owners joined): at 10,000 models building instances
    # cost seconds; rows cost what the document returns.
    details: dict[str, dict] = {}
    for slug, name, status, risk_tier, *names in (
        RegisteredModel.objects.filter(slug__in=model_slugs | version_models)
        .order_by()
        .values_list(
            "slug", "name", "status", "risk_tier", *people("owner"), *people("business_owner")
        )
    ):
        details[f"model:{slug}"] = _model_details(
            slug=slug,
            name=name,
            status=status,
            risk_tier=risk_tier,
            owner=_person(*names[:3]),
            business_owner=_person(*names[3:]),
        )
    versions = (
        ModelVersion.objects.filter(model__slug__in=version_models)
        .order_by()
        .values_list(
            "model__slug",
            "version",
            "stage",
            "artifact_uri",
            "artifact_sha256",
            "code_commit",
            "created_at",
            *people("created_by"),
        )
    )
    for slug, version, stage, uri, sha, commit, created_at, *names in versions:
        key = f"version:{slug}@{version}"
        if key not in ids:
            continue
        details[key] = _version_details(
            model_slug=slug,
            version=version,
            stage=stage,
            artifact_uri=uri,
            artifact_sha256=sha,
            code_commit=commit,
            created_at=created_at,
            created_by=_person(*names),
            owner=details.get(f"model:{slug}", {}).get("owner"),
        )
    datasets = Dataset.objects.filter(slug__in=dataset_slugs).values_list(
        "slug", "name", "version", "uri", "content_hash", "contains_personal_data", *people("owner")
    )
    for slug, name, version, uri, content_hash, personal, *names in datasets:
        details[f"dataset:{slug}"] = _dataset_details(
            slug=slug,
            name=name,
            version=version,
            uri=uri,
            content_hash=content_hash,
            owner=_person(*names),
            contains_personal_data=personal,
        )
    deployments = (
        Deployment.objects.filter(pk__in=deployment_pks)
        .order_by()
        .values_list(
            "pk",
            "version__model__slug",
            "version__version",
            "version__artifact_sha256",
            "environment",
            "endpoint",
            "consumers",
            "status",
            "deployed_at",
        )
    )
    for (
        pk,
        slug,
        version,
        sha,
        environment,
        endpoint,
        consumers,
        status,
        deployed_at,
    ) in deployments:
        details[f"deployment:{pk}"] = _deployment_details(
            model_slug=slug,
            version=version,
            artifact_sha256=sha,
            environment=environment,
            endpoint=endpoint,
            consumers=consumers,
            status=status,
            deployed_at=deployed_at,
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
