"""The lineage document drawn: one layered SVG diagram per model, the Lineage tab's layout with
owners and hashes in the boxes.

Pure: works on the document of ``apps.reports.lineage.lineage_document``; the diagram is the
app's own template (``includes/lineage.svg.html``), no database read.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.template.loader import render_to_string
from django.utils.safestring import mark_safe

from apps.core.templatetags.mlgov_svg import lineage_layout


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


def model_link(edge: Mapping[str, str]) -> bool:
    """A model → model edge (the upstream model's output feeds the downstream one)."""
    return edge["source"].startswith("model:") and edge["target"].startswith("model:")


class GraphIndex:
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


def neighbourhood(doc: Mapping[str, Any], slug: str, *, index: GraphIndex | None = None) -> dict:
    """The part of ``doc`` around one model, in the selector graph's shape: the model, its
    versions, their datasets and deployments, and the models it feeds or is fed by."""
    index = index or GraphIndex(doc)
    center = f"model:{slug}"
    if center not in index.by_id:
        return {"nodes": [], "edges": []}
    keep = {center}
    for version in index.versions(center):
        for e in index.edges_of(version["id"]):
            keep.update((e["source"], e["target"]))
    for e in index.edges_of(center):
        if model_link(e):
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
    doc: Mapping[str, Any], slug: str, *, links: bool = True, index: GraphIndex | None = None
) -> str:
    """The layered diagram of one model of ``doc``: the Lineage tab's layout
    (``lineage_layout`` and ``includes/lineage.svg.html``) with owners and hashes in the
    boxes. ``links`` False drops the links to app pages (for PDF)."""
    index = index or GraphIndex(doc)
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
    index = GraphIndex(doc)
    return mark_safe(  # noqa: S308
        "\n".join(model_svg(doc, slug, links=links, index=index) for slug in doc["models"])
    )
