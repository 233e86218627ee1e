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

from apps.core.templatetags.mlgov_svg import (
    NODE_HEIGHT,
    NODE_WIDTH,
    ROW_GAP,
    TOP,
    lineage_layout,
    route_edges,
)

# --- fitting text into the boxes -----------------------------------------------------------
#
# The PDF prints the diagram with DejaVu Sans (the fonts of every report), so how wide a label
# is can be known before drawing it: names wrap onto a second line and captions are shortened
# to the box instead of running past its edge. Widths are the fonts' own advance widths for
# ASCII, in hundredths of an em; any other character counts as a full em (wider than almost
# every glyph), so an estimate errs on the side of room to spare.

_SANS = (
    32, 40, 46, 84, 64, 95, 78, 27, 39, 39, 50, 84, 32, 36, 32, 34, 64, 64, 64, 64, 64, 64, 64,
    64, 64, 64, 34, 34, 84, 84, 84, 53, 100, 68, 69, 70, 77, 63, 58, 77, 75, 29, 29, 66, 56, 86,
    75, 79, 60, 79, 69, 63, 61, 73, 68, 99, 69, 61, 69, 39, 34, 39, 84, 50, 50, 61, 63, 55, 63,
    62, 35, 63, 63, 28, 28, 58, 28, 97, 63, 61, 63, 63, 41, 52, 39, 63, 59, 82, 59, 59, 52, 64,
    34, 64, 84,
)  # fmt: skip
_BOLD = (
    35, 46, 52, 84, 70, 100, 87, 31, 46, 46, 52, 84, 38, 42, 38, 37, 70, 70, 70, 70, 70, 70, 70,
    70, 70, 70, 40, 40, 84, 84, 84, 58, 100, 77, 76, 73, 83, 68, 68, 82, 84, 37, 37, 77, 64, 100,
    84, 85, 73, 85, 77, 72, 68, 81, 77, 110, 77, 72, 73, 46, 37, 46, 84, 50, 50, 67, 72, 59, 72,
    68, 44, 72, 71, 34, 34, 67, 34, 104, 71, 69, 72, 72, 49, 60, 48, 71, 65, 92, 65, 65, 58, 71,
    37, 71, 84,
)  # fmt: skip
_OTHER = {"·": 38, "…": 100}

#: The text inside a box: 10 units of padding either side, as the template places it.
PADDING = 10
INNER_WIDTH = NODE_WIDTH - 2 * PADDING
NAME_SIZE = 12
CAPTION_SIZE = 11
LINE_HEIGHT = 14
NAME_LINES = 2
#: A box with a name on two lines and its caption under them.
TALL_NODE_HEIGHT = NODE_HEIGHT + LINE_HEIGHT


def text_width(text: str, size: float, *, bold: bool = False) -> float:
    """The width of ``text`` set in DejaVu Sans (Bold) at ``size`` units (an upper bound)."""
    table = _BOLD if bold else _SANS
    hundredths = sum(table[ord(c) - 32] if 32 <= ord(c) < 127 else _OTHER.get(c, 100) for c in text)
    return hundredths * size / 100


def fit(text: str, size: float, width: float, *, bold: bool = False) -> str:
    """``text`` as it fits ``width``: whole, or cut and ended with an ellipsis."""
    if text_width(text, size, bold=bold) <= width:
        return text
    while text and text_width(text + "…", size, bold=bold) > width:
        text = text[:-1]
    return text.rstrip() + "…"


def wrap(text: str, size: float, width: float, *, bold: bool = False, lines: int) -> list[str]:
    """``text`` broken at spaces into at most ``lines`` lines of ``width`` (a word longer than
    a line is cut where it must be); the last line ends with an ellipsis if text is left."""
    out: list[str] = []
    rest = text.split()
    while rest and len(out) < lines:
        line = rest.pop(0)
        while text_width(line, size, bold=bold) > width:  # one word wider than the box
            cut = len(line) - 1
            while cut > 1 and text_width(line[:cut], size, bold=bold) > width:
                cut -= 1
            rest.insert(0, line[cut:])
            line = line[:cut]
        while rest and text_width(f"{line} {rest[0]}", size, bold=bold) <= width:
            line = f"{line} {rest.pop(0)}"
        out.append(line)
    if rest:
        out[-1] = fit(f"{out[-1]} {' '.join(rest)}", size, width, bold=bold)
    return out or [""]


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
    graph = neighbourhood(doc, slug, index=index)
    layout = lineage_layout(graph, center)
    for placed in layout["nodes"]:
        placed["caption"] = _caption(index.by_id[placed["id"]])
        if not links:
            placed["href"] = ""
    _fit_labels(layout, graph)
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


def _fit_labels(layout: dict, graph: Mapping[str, Any]) -> None:
    """Names on up to two lines and captions cut to the box, so no label runs past its box's
    edge; when a name needs two lines every box grows by a line, the rows move down and the
    edges are routed again between the moved boxes."""
    wrapped = {}
    for node in layout["nodes"]:
        wrapped[node["id"]] = wrap(
            node["label"], NAME_SIZE, INNER_WIDTH, bold=True, lines=NAME_LINES
        )
    tall = any(len(lines) > 1 for lines in wrapped.values())
    height = TALL_NODE_HEIGHT if tall else NODE_HEIGHT
    for node in layout["nodes"]:
        row = (node["y"] - TOP) // (NODE_HEIGHT + ROW_GAP)
        node["y"] = TOP + row * (height + ROW_GAP)
        node["lines"] = [
            {"text": text, "y": node["y"] + 18 + i * LINE_HEIGHT}
            for i, text in enumerate(wrapped[node["id"]])
        ]
        node["caption"] = fit(node["caption"], CAPTION_SIZE, INNER_WIDTH)
        node["caption_y"] = node["lines"][-1]["y"] + 15
    if not tall:
        return
    rows = max(((n["y"] - TOP) // (height + ROW_GAP) + 1 for n in layout["nodes"]), default=1)
    layout["height"] = TOP + rows * (height + ROW_GAP) + 6
    layout["node_height"] = height
    placed = {n["id"]: n for n in layout["nodes"]}
    layout["edges"] = route_edges(placed, graph["edges"], height)


def lineage_svg(doc: Mapping[str, Any], *, links: bool = True) -> str:
    """The diagrams of ``doc``: the scope model's, or one per model for the inventory."""
    index = GraphIndex(doc)
    return mark_safe(  # noqa: S308
        "\n".join(model_svg(doc, slug, links=links, index=index) for slug in doc["models"])
    )
