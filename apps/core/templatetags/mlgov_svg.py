"""Server-rendered SVG: bar charts and the lineage diagram. Geometry here, markup in templates.

No JavaScript chart library: pages stay light, printable and work without a network.
"""

from __future__ import annotations

from dataclasses import dataclass

from django import template
from django.urls import reverse

register = template.Library()

BAR_ROW = 30
BAR_LABEL_WIDTH = 170
BAR_AREA_WIDTH = 250
BAR_CHART_WIDTH = BAR_LABEL_WIDTH + BAR_AREA_WIDTH + 50


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    y: int
    width: int
    colour: str
    href: str


@register.inclusion_tag("includes/bar_chart.svg.html")
def bar_chart(chart_id: str, title: str, items, description: str = ""):
    """Horizontal bars; ``items`` are (label, value, colour, href) tuples."""
    items = list(items)
    peak = max((value for _, value, _, _ in items), default=0) or 1
    bars = [
        Bar(
            label=label,
            value=value,
            y=index * BAR_ROW + 6,
            width=round(BAR_AREA_WIDTH * value / peak) if value else 0,
            colour=colour,
            href=href,
        )
        for index, (label, value, colour, href) in enumerate(items)
    ]
    return {
        "chart_id": chart_id,
        "title": title,
        "description": description
        or "; ".join(f"{label}: {value}" for label, value, _, _ in items),
        "bars": bars,
        "width": BAR_CHART_WIDTH,
        "height": len(bars) * BAR_ROW + 12,
        "label_width": BAR_LABEL_WIDTH,
        "bar_x": BAR_LABEL_WIDTH + 8,
    }


NODE_WIDTH = 210
NODE_HEIGHT = 42
COLUMN_GAP = 70
ROW_GAP = 14
TOP = 34
LABEL_CHARS = 24

NODE_COLOURS = {
    "dataset": ("#e6eef7", "#1f4e79"),
    "model": ("#efe8f7", "#5b3b8a"),
    "center": ("#1f4e79", "#1f4e79"),
    "version": ("#fdf3dc", "#8a5a00"),
    "deployment": ("#e5f3ea", "#1e6b3a"),
}
COLUMN_TITLES = ("Inputs", "This model and its versions", "Deployments", "Feeds models")


def _short(text: str) -> str:
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1] + "…"


def _column_of(node: dict, center_id: str, downstream: set[str]) -> int:
    if node["type"] == "dataset":
        return 0
    if node["type"] == "model":
        if node["id"] == center_id:
            return 1
        return 3 if node["id"] in downstream else 0
    if node["type"] == "version":
        return 1
    return 2


def _href(node: dict) -> str:
    if node["type"] == "dataset":
        return reverse("inventory:dataset_detail", kwargs={"slug": node["slug"]})
    if node["type"] == "model":
        return reverse("inventory:model_detail", kwargs={"slug": node["slug"]})
    return ""


def _caption(node: dict) -> str:
    if node["type"] == "version":
        return f"version · {node.get('stage', '')}"
    if node["type"] == "deployment":
        return f"{node.get('status', '')}".strip()
    return node["type"]


def route_edges(placed: dict[str, dict], graph_edges, height: int) -> list[dict]:
    """The edges between placed boxes (``placed``: id → box with ``x``, ``y`` and ``label``,
    boxes ``NODE_WIDTH`` wide and ``height`` tall): from the right side of the source to the
    left of the target, always left to right, evaluation data a little lower. Edges within one
    column are left out (the model → version link is shown by the shared column). Pure; the
    Lineage tab and the PDF's taller boxes route with it."""
    edges = []
    for edge in graph_edges:
        source, target = placed.get(edge["source"]), placed.get(edge["target"])
        if source is None or target is None or source["x"] == target["x"]:
            continue
        x1, y1 = source["x"] + NODE_WIDTH, source["y"] + height // 2
        x2, y2 = target["x"], target["y"] + height // 2
        if x2 < x1:
            # An upstream model drawn in the inputs column feeds the centre: keep left to right.
            x1, y1, x2, y2 = target["x"] + NODE_WIDTH, y2, source["x"], y1
        if edge["type"] == "evaluated_on":
            # Keep a dataset used for both training and evaluation as two visible lines.
            y1, y2 = y1 + 6, y2 + 6
        mid = (x1 + x2) // 2
        edges.append(
            {
                "type": edge["type"],
                "path": f"M{x1},{y1} C{mid},{y1} {mid},{y2} {x2 - 6},{y2}",
                "label": f"{source['label']} {edge['type'].replace('_', ' ')} {target['label']}",
            }
        )
    return edges


def lineage_layout(graph: dict, center_id: str) -> dict:
    """Place nodes in four columns (inputs → model/versions → deployments → downstream
    models) and route each edge from the right side of its source to the left of its target."""
    downstream = {e["target"] for e in graph["edges"] if e["source"] == center_id}
    columns: list[list[dict]] = [[], [], [], []]
    for node in graph["nodes"]:
        columns[_column_of(node, center_id, downstream)].append(node)
    for index, column in enumerate(columns):
        # Upstream models before datasets; the model itself heads its versions.
        column.sort(
            key=lambda n, i=index: (
                0 if n["id"] == center_id else 1,
                0 if n["type"] == "model" and i == 0 else 1,
                n["label"],
            )
        )
    placed: dict[str, dict] = {}
    for col, column in enumerate(columns):
        for row, node in enumerate(column):
            kind = "center" if node["id"] == center_id else node["type"]
            fill, stroke = NODE_COLOURS[kind]
            placed[node["id"]] = {
                "id": node["id"],
                "label": node["label"],
                "short": _short(node["label"]),
                "caption": _caption(node),
                "href": _href(node),
                "x": col * (NODE_WIDTH + COLUMN_GAP) + 10,
                "y": TOP + row * (NODE_HEIGHT + ROW_GAP),
                "fill": fill,
                "stroke": stroke,
                "text_colour": "#ffffff" if kind == "center" else "#1c2430",
                "kind": kind,
            }
    edges = route_edges(placed, graph["edges"], NODE_HEIGHT)
    rows = max((len(c) for c in columns), default=1) or 1
    return {
        "nodes": list(placed.values()),
        "edges": edges,
        "width": 4 * NODE_WIDTH + 3 * COLUMN_GAP + 20,
        "height": TOP + rows * (NODE_HEIGHT + ROW_GAP) + 6,
        "node_width": NODE_WIDTH,
        "node_height": NODE_HEIGHT,
        "titles": [
            {"x": i * (NODE_WIDTH + COLUMN_GAP) + 10, "text": t}
            for i, t in enumerate(COLUMN_TITLES)
        ],
    }


@register.inclusion_tag("includes/lineage.svg.html")
def lineage_diagram(graph: dict, center_id: str, title: str = "Lineage"):
    return {"layout": lineage_layout(graph, center_id), "title": title}
