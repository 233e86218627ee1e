"""The model card as HTML (browser or PDF) and as PDF/A-3b with mlgov's JSON export attached.

Pure: everything comes from a snapshot (``apps.reports.snapshot.model_snapshot``) and the
generation metadata; no ORM. The markup is ``templates/reports/card/card.html`` (Django
templates, autoescaped: user text is escaped, multi-line text gets ``<br>`` after escaping).
Charts are the monitoring tab's SVG (``includes/metric_chart.svg.html``) built from each
metric's 90-day series, and the drift tab's per-column bars.
"""

from __future__ import annotations

import json
import re
import textwrap
from datetime import datetime, timedelta

import numpy as np
from django.conf import settings
from django.template.loader import render_to_string

from apps.monitoring import charts
from apps.monitoring.drift.display import drift_bar
from apps.reports.coverage import coverage
from apps.reports.formats.jsonexport import card_json_bytes
from apps.reports.pdf import PdfAttachment, render_pdf, stylesheet_text
from apps.reports.snapshot.changes import labelled_change

TEMPLATE = "reports/card/card.html"
CARD_CSS = "reports/card.css"
SCREEN_CSS = "reports/screen.css"
JSON_NAME = "model-card.json"

CHART_DAYS = 90
CHART_HEIGHT = 220
#: Drift metrics are many per run (a score and a PSI per column): smaller charts, two a row,
#: drawn narrower so that their labels print at a legible size at half the page's width.
DRIFT_CHART_WIDTH = 440
DRIFT_CHART_HEIGHT = 200
#: Metric names of the drift runs' series (charted in the Drift section).
DRIFT_PREFIX = "drift."
#: Governance changes printed in the card, newest first. The snapshot holds up to 200, all of
#: them in the attached JSON; the complete trail is the audit extract. Automated events are
#: counted per kind, not listed. Also bounds the card's length.
CHANGES_SHOWN = 50
#: Versions printed in full besides every version in production or staging: the newest. The
#: older ones are counted per stage with their dates; all of them are in the attached JSON,
#: the register and the audit extract. The card's length grows with what it prints, not
#: with every version ever registered.
VERSIONS_SHOWN = 10
CURRENT_STAGES = ("production", "staging")
STAGE_ORDER = ("production", "staging", "development", "archived")
#: Approval requests printed with their decisions (Approvals and Sign-off), besides any
#: still pending: the newest. Older ones are counted per kind and outcome.
APPROVALS_SHOWN = 20
#: Deployments printed, newest first; older ones are counted per environment and status.
DEPLOYMENTS_SHOWN = 20

#: Sections in order: anchor and title (the table of contents and the headings share them).
SECTIONS = (
    ("identity", "Identity and purpose"),
    ("users", "Intended users"),
    ("out-of-scope", "Out-of-scope uses"),
    ("people", "Owners and roles"),
    ("risk", "Risk tier"),
    ("eu-ai-act", "EU AI Act classification"),
    ("lifecycle", "Lifecycle"),
    ("production", "Production version"),
    ("versions", "All versions"),
    ("deployments", "Deployments and dependencies"),
    ("lineage", "Lineage"),
    ("metrics", "Metrics and signed thresholds"),
    ("drift", "Drift"),
    ("approvals", "Approvals and signed decisions"),
    ("incidents", "Incidents"),
    ("reviews", "Reviews and findings"),
    ("considerations", "Limitations, assumptions, ethics, explainability and oversight"),
    ("changes", "Change history"),
    ("coverage", "Regulatory coverage"),
    ("generation", "Generation metadata"),
    ("signoff", "Review of this card"),
)

STATE_LABELS = {
    "ok": "OK",
    "warning": "Warning",
    "critical": "Critical",
    "insufficient_data": "Insufficient data",
}

_ISO_TIME = re.compile(r"^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})(?::\d{2}(?:\.\d+)?)?(?:Z|\+00:00)$")


def parse_time(value: str) -> datetime:
    """An aware datetime of a snapshot's UTC ISO 8601 time (``2026-11-24T10:15:00Z``)."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def display_time(value: str) -> str:
    """``2026-11-24T10:15:00Z`` → ``2026-11-24 10:15 UTC`` (the JSON attachment keeps the
    seconds); anything else unchanged."""
    match = _ISO_TIME.match(value)
    return f"{match[1]} {match[2]} UTC" if match else value


def display_number(value) -> str:
    """A number as stored, without float noise: 0.8734, 400, 1e-05."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _display(value):
    """A copy of snapshot data ready for the template: times in words, floats without noise,
    a ``label`` on every person ("Name (username)"). Chart series are left out."""
    if isinstance(value, dict):
        shown = {key: _display(item) for key, item in value.items() if key != "series"}
        if "username" in value and "name" in value:
            name, username = value.get("name") or "", value.get("username") or ""
            shown["label"] = f"{name} ({username})" if name and name != username else username
            shown["roles"] = ", ".join(value.get("role_labels") or [])
        return shown
    if isinstance(value, list):
        return [_display(item) for item in value]
    if isinstance(value, str):
        return display_time(value)
    if isinstance(value, float):
        return display_number(value)
    return value


def _pairs(mapping) -> list[tuple[str, str]]:
    """A dict as sorted (key, text) pairs; nested values as compact JSON."""
    if not isinstance(mapping, dict):
        return []
    pairs = []
    for key in sorted(mapping, key=str):
        value = mapping[key]
        if isinstance(value, (dict, list)):
            text = json.dumps(value, sort_keys=True, ensure_ascii=False)
        else:
            text = display_number(value)
        pairs.append((str(key), text))
    return pairs


def _bands(threshold: dict | None) -> charts.Bands | None:
    threshold = threshold or {}
    if threshold.get("warning_bound") is None or threshold.get("critical_bound") is None:
        return None
    return charts.Bands(
        direction=threshold.get("direction") or "below",
        warning=float(threshold["warning_bound"]),
        critical=float(threshold["critical_bound"]),
        label=f"Threshold #{threshold.get('id')}",
    )


def _chart(
    chart_id: str,
    metric: dict,
    lines: list[tuple[str, list]],
    as_of: datetime,
    *,
    bands: charts.Bands | None = None,
    width: int = charts.WIDTH,
    height: int = CHART_HEIGHT,
) -> charts.Chart | None:
    """The 90-day chart of one metric: a line per (label, daily points), the threshold's
    bands when it has one; None without points."""
    series, times = [], []
    for label, raw in lines:
        points = sorted((p for p in raw or [] if p and p[1] is not None), key=lambda p: p[0])
        if not points:
            continue
        x = np.array([parse_time(t).timestamp() for t, _ in points], dtype=float)
        y = np.array([float(v) for _, v in points], dtype=float)
        series.append(charts.Series(label=label, x=x, y=y))
        times += [points[0][0], points[-1][0]]
    if not series:
        return None
    start = min(as_of - timedelta(days=CHART_DAYS), parse_time(min(times)))
    end = max(as_of, parse_time(max(times)))
    return charts.build_chart(
        chart_id=chart_id,
        title=metric.get("metric") or "",
        unit=metric.get("unit") or "",
        series=series,
        start=start,
        end=end,
        bands=bands,
        width=width,
        height=height,
    )


def _scope(metric: dict) -> str:
    label = f"version {metric['version']}" if metric.get("version") else "all versions"
    if metric.get("segment"):
        label += f", {metric['segment']}"
    return label


def _overall_threshold(snapshot: dict, name: str, versions: list[str]) -> dict | None:
    """The threshold drawn on an observed metric's chart: that of the metric over all
    segments, model-wide first, else the one of its newest charted version."""
    own = [
        m for m in snapshot.get("metrics") or [] if m.get("metric") == name and not m.get("segment")
    ]
    chosen = next((m for m in own if not m.get("version")), None)
    if chosen is None:
        chosen = next((m for v in reversed(versions) for m in own if m.get("version") == v), None)
    return chosen


def _metrics(snapshot: dict, as_of: datetime) -> list[dict]:
    """The thresholds' rows; a thresholded series of one segment is charted with them."""
    rows = []
    for index, metric in enumerate(snapshot.get("metrics") or []):
        shown = _display(metric)
        shown["state_label"] = STATE_LABELS.get(metric.get("state"), metric.get("state") or "")
        rows.append({"m": shown, "state": metric.get("state"), "index": index})
    return rows


def _metric_charts(snapshot: dict, as_of: datetime) -> tuple[list[dict], list[dict]]:
    """Every metric observed in the chart's days, charted: one chart a metric over all
    segments with a line per version and its threshold's bands when it has one (the
    performance metrics), then the thresholded series of single segments; and the drift
    runs' series, apart. Each entry: what the chart shows and the chart."""
    performance, drift = [], []
    for index, observed in enumerate(snapshot.get("observed_metrics") or []):
        name = observed.get("metric") or ""
        versions = [v.get("version") or "" for v in observed.get("versions") or []]
        threshold_entry = _overall_threshold(snapshot, name, versions)
        is_drift = name.startswith(DRIFT_PREFIX)
        chart = _chart(
            f"card-observed-{index}",
            observed,
            [(f"version {v.get('version')}", v.get("series")) for v in observed["versions"]],
            as_of,
            bands=None if threshold_entry is None else _bands(threshold_entry.get("threshold")),
            width=DRIFT_CHART_WIDTH if is_drift else charts.WIDTH,
            height=DRIFT_CHART_HEIGHT if is_drift else CHART_HEIGHT,
        )
        if chart is None:
            continue
        entry = {
            "metric": name,
            "description": observed.get("description") or "",
            "scope": "all segments, " + ", ".join(f"version {v}" for v in versions),
            "threshold": _display(threshold_entry["threshold"]) if threshold_entry else None,
            "chart": chart,
        }
        (drift if is_drift else performance).append(entry)
    charted = {c["metric"] for c in performance}
    for index, metric in enumerate(snapshot.get("metrics") or []):
        if not metric.get("segment") and metric.get("metric") in charted:
            continue  # charted above with the metric's other versions
        chart = _chart(
            f"card-metric-{index}",
            metric,
            [(_scope(metric), metric.get("series"))],
            as_of,
            bands=_bands(metric.get("threshold")),
        )
        performance.append(
            {
                "metric": metric.get("metric") or "",
                "description": metric.get("description") or "",
                "scope": _scope(metric),
                "threshold": _display(metric.get("threshold") or {}),
                "chart": chart,
            }
        )
    # The metrics a signed threshold watches first, then the others, by name.
    performance.sort(key=lambda c: (c["threshold"] is None, c["metric"], c["scope"]))
    return performance, drift


def _drift(snapshot: dict) -> dict | None:
    drift = snapshot.get("drift")
    if not drift:
        return None
    shown = _display(drift)
    share = drift.get("drift_share")
    shown["share_percent"] = "" if share is None else f"{share * 100:.0f} %"
    columns = []
    for column, raw in zip(shown.get("columns") or [], drift.get("columns") or [], strict=True):
        score, threshold = raw.get("score"), raw.get("threshold")
        bar = None
        if isinstance(score, (int, float)) and isinstance(threshold, (int, float)) and threshold:
            bar = drift_bar(
                method=raw.get("method") or "",
                score=float(score),
                threshold=float(threshold),
                drifted=bool(raw.get("drifted")),
            )
        columns.append({**column, "bar": bar})
    shown["columns"] = columns
    return shown


def _span(times: list[str]) -> tuple[str, str]:
    """The first and last of snapshot times (ISO 8601 UTC sorts as text), for display."""
    present = sorted(t for t in times if t)
    return (display_time(present[0]), display_time(present[-1])) if present else ("", "")


def _older_versions(older: list[dict]) -> list[dict]:
    """Versions not printed in full, one row per stage: how many, how many approved, and
    when the first and last of them were registered."""
    by_stage: dict[str, list[dict]] = {}
    for version in older:
        by_stage.setdefault(version.get("stage") or "", []).append(version)
    order = {stage: index for index, stage in enumerate(STAGE_ORDER)}
    rows = []
    for stage in sorted(by_stage, key=lambda s: (order.get(s, len(order)), s)):
        group = by_stage[stage]
        first, last = _span([v.get("created_at") or "" for v in group])
        names = [v.get("version") or "" for v in group]  # newest first
        rows.append(
            {
                "stage_label": group[0].get("stage_label") or stage,
                "count": len(group),
                "approved": sum(1 for v in group if v.get("approved_at")),
                "first_created": first,
                "last_created": last,
                "newest": names[0],
                "oldest": names[-1],
            }
        )
    return rows


def _versions(snapshot: dict, shown: list[dict]) -> tuple[list[dict], list[dict], int]:
    """The versions printed in full (production, staging and the newest ``VERSIONS_SHOWN``,
    newest first), the others summarised per stage, and how many those are."""
    full, older = [], []
    for index, (raw, entry) in enumerate(zip(snapshot.get("versions") or [], shown, strict=True)):
        if index < VERSIONS_SHOWN or raw.get("stage") in CURRENT_STAGES:
            full.append(entry)
        else:
            older.append(raw)
    return full, _older_versions(older), len(older)


def _counted(items: list[dict], keys: tuple[str, str]) -> list[dict]:
    """Items counted by two labels (e.g. kind and status), most frequent first."""
    counts: dict[tuple[str, str], int] = {}
    for item in items:
        key = (item.get(keys[0]) or "", item.get(keys[1]) or "")
        counts[key] = counts.get(key, 0) + 1
    ordered = sorted(counts.items(), key=lambda pair: (-pair[1], pair[0]))
    return [{"first": a, "second": b, "count": n} for (a, b), n in ordered]


def _approvals(snapshot: dict, shown: list[dict]) -> dict:
    """The approval requests printed (every pending one and the newest ``APPROVALS_SHOWN``)
    and the older ones counted per kind and status, with their span."""
    printed, older = [], []
    for index, (raw, entry) in enumerate(zip(snapshot.get("approvals") or [], shown, strict=True)):
        if index < APPROVALS_SHOWN or raw.get("status") == "pending":
            printed.append(entry)
        else:
            older.append(raw)
    first, last = _span([a.get("requested_at") or "" for a in older])
    return {
        "shown": printed,
        "older": _counted(older, ("kind_label", "status_label")),
        "older_total": len(older),
        "older_decisions": sum(len(a.get("decisions") or []) for a in older),
        "older_first": first,
        "older_last": last,
    }


def _deployments(snapshot: dict, shown: list[dict]) -> dict:
    """The newest ``DEPLOYMENTS_SHOWN`` deployments and the rest counted."""
    raw = snapshot.get("deployments") or []
    older = raw[DEPLOYMENTS_SHOWN:]
    return {
        "shown": shown[:DEPLOYMENTS_SHOWN],
        "older": _counted(older, ("environment_label", "status_label")),
        "older_total": len(older),
    }


# --- lineage ----------------------------------------------------------------------------------

LINEAGE_NODE_WIDTH = 170
LINEAGE_COLUMN_GAP = 44
LINEAGE_LINE = 12
LINEAGE_LABEL_CHARS = 26
LINEAGE_TOP = 26
LINEAGE_ROW_GAP = 10
#: Nodes drawn per column; the tables above list every one.
LINEAGE_PER_COLUMN = 8
LINEAGE_COLUMNS = ("Data and upstream models", "Versions", "Deployments", "Consumers")
LINEAGE_COLOURS = {
    "dataset": ("#e6eef7", "#1f4e79"),
    "model": ("#efe8f7", "#5b3b8a"),
    "version": ("#fdf3dc", "#8a5a00"),
    "production": ("#1f4e79", "#1f4e79"),
    "deployment": ("#e5f3ea", "#1e6b3a"),
    "consumer": ("#f3f5f8", "#4a5565"),
}


def _lineage_versions(snapshot: dict) -> list[dict]:
    """The versions drawn: those in production or staging, else the newest."""
    versions = snapshot.get("versions") or []
    current = [v for v in versions if v.get("stage") in CURRENT_STAGES]
    return (current or versions[:1])[:LINEAGE_PER_COLUMN]


def _consumers(text: str) -> list[str]:
    """The downstream consumers written as a list ("a; b" or one a line)."""
    parts = re.split(r"[;\n]+", text or "")
    return [p.strip().rstrip(".").strip() for p in parts if p.strip().rstrip(".").strip()]


def _lineage(snapshot: dict) -> dict | None:
    """The model's lineage drawn from the snapshot: data and upstream models → the current
    versions → their deployments → the models and consumers it feeds. Boxes wrap their
    labels (never clipped); each column draws at most ``LINEAGE_PER_COLUMN`` boxes."""
    versions = _lineage_versions(snapshot)
    if not versions and not (snapshot.get("dependencies") or {}).get("upstream"):
        return None
    columns: list[list[dict]] = [[], [], [], []]
    edges: list[tuple[str, str, str]] = []
    deps = snapshot.get("dependencies") or {}
    datasets: dict[str, dict] = {}
    for version in versions:
        vid = f"v:{version.get('version')}"
        stage = version.get("stage") or ""
        columns[1].append(
            {
                "id": vid,
                "label": f"{snapshot['model'].get('name')} {version.get('version')}",
                "caption": version.get("stage_label") or stage,
                "kind": "production" if stage == "production" else "version",
            }
        )
        for d in version.get("datasets") or []:
            key = f"d:{d.get('slug') or d.get('name')}"
            datasets.setdefault(key, d)
            edges.append((key, vid, d.get("role") or ""))
    for key, d in datasets.items():
        columns[0].append(
            {
                "id": key,
                "label": d.get("name") or d.get("slug") or "",
                "caption": f"dataset {d.get('version') or ''}".strip(),
                "kind": "dataset",
            }
        )
    main = columns[1][0]["id"] if columns[1] else None
    for up in deps.get("upstream") or []:
        key = f"m:{up.get('slug')}"
        columns[0].append(
            {"id": key, "label": up.get("name") or "", "caption": "model", "kind": "model"}
        )
        if main:
            edges.append((key, main, "feeds"))
    shown_versions = {node["id"] for node in columns[1]}
    live = [
        d
        for d in snapshot.get("deployments") or []
        if f"v:{d.get('version')}" in shown_versions and d.get("status") != "retired"
    ]
    for index, d in enumerate(live[:LINEAGE_PER_COLUMN]):
        key = f"dep:{index}"
        columns[2].append(
            {
                "id": key,
                "label": f"{d.get('environment_label')} {d.get('version')}",
                "caption": d.get("status_label") or "",
                "kind": "deployment",
            }
        )
        edges.append((f"v:{d.get('version')}", key, "deployed_as"))
    feeders = [n["id"] for n in columns[2]] or ([main] if main else [])
    consumers = [
        ("m:" + (d.get("slug") or ""), d.get("name") or "", "model", "model")
        for d in deps.get("downstream") or []
    ] + [
        (f"c:{i}", text, "consumer", "consumer")
        for i, text in enumerate(_consumers(snapshot["model"].get("downstream_consumers") or ""))
    ]
    for key, label, caption, kind in consumers:
        columns[3].append({"id": key, "label": label, "caption": caption, "kind": kind})
        edges += [(source, key, "feeds") for source in feeders[:1]]
    return _lineage_layout(columns, edges)


def _lineage_layout(columns: list[list[dict]], edges: list[tuple[str, str, str]]) -> dict:
    placed: dict[str, dict] = {}
    more = []
    heights = []
    for col, column in enumerate(columns):
        y = LINEAGE_TOP
        more.append(max(0, len(column) - LINEAGE_PER_COLUMN))
        for node in column[:LINEAGE_PER_COLUMN]:
            lines = textwrap.wrap(node["label"], LINEAGE_LABEL_CHARS)[:3] or [""]
            height = 10 + LINEAGE_LINE * (len(lines) + 1)
            fill, stroke = LINEAGE_COLOURS[node["kind"]]
            x = 4 + col * (LINEAGE_NODE_WIDTH + LINEAGE_COLUMN_GAP)
            placed[node["id"]] = {
                **node,
                "x": x,
                "y": y,
                "height": height,
                "fill": fill,
                "stroke": stroke,
                "text": "#ffffff" if node["kind"] == "production" else "#1c2430",
                "lines": [
                    {"text": line, "y": y + 4 + LINEAGE_LINE * (i + 1)}
                    for i, line in enumerate(lines)
                ],
                "caption_y": y + 4 + LINEAGE_LINE * (len(lines) + 1),
            }
            y += height + LINEAGE_ROW_GAP
        heights.append(y)
    paths = []
    for source, target, kind in edges:
        a, b = placed.get(source), placed.get(target)
        if a is None or b is None:
            continue
        x1, y1 = a["x"] + LINEAGE_NODE_WIDTH, a["y"] + a["height"] / 2
        x2, y2 = b["x"] - 5, b["y"] + b["height"] / 2
        if kind == "evaluated_on":
            y1, y2 = y1 + 5, y2 + 5
        mid = (x1 + x2) / 2
        paths.append(
            {
                "kind": kind.replace("_", " "),
                "dashed": kind == "evaluated_on",
                "d": f"M{x1:.0f},{y1:.0f} C{mid:.0f},{y1:.0f} {mid:.0f},{y2:.0f} {x2:.0f},{y2:.0f}",
                "label": f"{a['label']} {kind.replace('_', ' ')} {b['label']}",
            }
        )
    step = LINEAGE_NODE_WIDTH + LINEAGE_COLUMN_GAP
    return {
        "nodes": list(placed.values()),
        "edges": paths,
        "titles": [{"x": 4 + i * step, "text": t} for i, t in enumerate(LINEAGE_COLUMNS)],
        "more": [{"x": 4 + i * step, "count": n} for i, n in enumerate(more) if n],
        "node_width": LINEAGE_NODE_WIDTH,
        "width": 8 + 4 * LINEAGE_NODE_WIDTH + 3 * LINEAGE_COLUMN_GAP,
        "height": max(heights) + (14 if any(more) else 0),
        "more_y": max(heights) + 6,
    }


def _history(snapshot: dict, shown: list[dict]) -> dict:
    """The change history, governance first: the governance events printed and the
    automated ones counted per kind with their period."""
    automated = []
    for group in snapshot.get("automated_activity") or []:
        automated.append(
            {
                "label": group.get("label") or group.get("object_type") or "",
                "events": group.get("events") or 0,
                "objects": group.get("objects") or 0,
                "first": display_time(group.get("first_at") or ""),
                "last": display_time(group.get("last_at") or ""),
            }
        )
    return {
        "changes": [labelled_change(c) for c in shown[:CHANGES_SHOWN]],
        "total": len(shown),
        "automated": automated,
        "automated_total": sum(g["events"] for g in automated),
    }


def organisation_name() -> str:
    """The organisation named on the cover (``MLGOV_ORGANISATION_NAME``; empty: none)."""
    return (getattr(settings, "MLGOV_ORGANISATION_NAME", "") or "").strip()


def card_context(snapshot: dict, meta: dict, *, for_pdf: bool) -> dict:
    """Everything ``card.html`` draws."""
    as_of = parse_time(snapshot["as_of"])
    shown = _display(snapshot)
    production = snapshot.get("production_version")
    production_shown = None
    if production:
        production_shown = _display(production)
        production_shown["hyperparameter_pairs"] = _pairs(production.get("hyperparameters"))
        production_shown["evaluation_pairs"] = _pairs(production.get("evaluation_metrics"))
    report = coverage(snapshot)
    shown_coverage = _display(report)
    score = report.get("score")
    shown_coverage["score_percent"] = "" if score is None else f"{score * 100:.0f} %"
    frameworks = _frameworks(report)
    for item in shown_coverage.get("items") or []:
        sources = item.get("sources") or {}
        item["source_pairs"] = [(name, sources.get(name, "")) for name in frameworks]
    model = snapshot["model"]
    versions, older_versions, older_versions_total = _versions(snapshot, shown["versions"])
    performance_charts, drift_charts = _metric_charts(snapshot, as_of)
    context = {
        "for_pdf": for_pdf,
        "s": shown,
        "model": shown["model"],
        "meta": _display(meta),
        "sections": SECTIONS,
        "titles": {key.replace("-", "_"): title for key, title in SECTIONS},
        "production": production_shown,
        "versions": versions,
        "older_versions": older_versions,
        "older_versions_total": older_versions_total,
        "versions_total": len(shown["versions"]),
        "approvals": _approvals(snapshot, shown["approvals"]),
        "deployments": _deployments(snapshot, shown["deployments"]),
        "history": _history(snapshot, shown["changes"]),
        "metrics": _metrics(snapshot, as_of),
        "metric_charts": performance_charts,
        "drift_charts": drift_charts,
        "lineage": _lineage(snapshot),
        "organisation": organisation_name(),
        "drift": _drift(snapshot),
        "coverage": shown_coverage,
        "coverage_frameworks": frameworks,
        "created_w3c": meta.get("generated_at") or "",
        "json_name": JSON_NAME,
        "chart_days": CHART_DAYS,
        "running_title": f"Model card · {model.get('name') or model.get('slug')}",
        "running_as_of": f"As of {display_time(snapshot['as_of'])}",
        "running_footer": _footer(meta),
    }
    if not for_pdf:
        context["styles"] = {
            "print": stylesheet_text("reports/print.css"),
            "card": stylesheet_text(CARD_CSS),
            "screen": stylesheet_text(SCREEN_CSS),
        }
    return context


def _frameworks(report: dict) -> list[str]:
    for item in report.get("items") or []:
        return list((item.get("sources") or {}).keys())
    return []


def _footer(meta: dict) -> str:
    parts = [meta.get("generator") or "mlgov"]
    if meta.get("report_id") is not None:
        parts.append(f"report {meta['report_id']}")
    digest = meta.get("snapshot_sha256") or ""
    if digest:
        parts.append(f"snapshot SHA-256 {digest[:16]}…")
    return " · ".join(parts)


def card_html(snapshot: dict, meta: dict, *, for_pdf: bool, screen: dict | None = None) -> str:
    """The model card as one HTML document. For the browser (``for_pdf=False``) it is
    standalone: its stylesheets inlined, no external resource, printable. For the PDF the
    stylesheets are applied by ``render_pdf`` from its parsed cache.

    ``screen`` (the card read in mlgov) adds to the bar above it: ``pdf``, the newest PDF
    report of this card to download; ``make_pdf_url``, where to ask for one; and
    ``print_script``, the URL of the Print button's script."""
    context = card_context(snapshot, meta, for_pdf=for_pdf)
    context["screen"] = screen or {}
    return render_to_string(TEMPLATE, context)


def card_attachment(snapshot: dict, meta: dict) -> PdfAttachment:
    """mlgov's JSON export of the card (the same bytes as the JSON download)."""
    return PdfAttachment(
        name=JSON_NAME,
        data=card_json_bytes(snapshot, meta),
        description="mlgov model card: generation metadata, the record snapshot and its "
        "regulatory coverage (JSON)",
        mime="application/json",
        relationship="Data",
    )


def card_pdf(snapshot: dict, meta: dict) -> bytes:
    """The model card as PDF/A-3b with ``model-card.json`` embedded."""
    return render_pdf(
        card_html(snapshot, meta, for_pdf=True),
        attachments=[card_attachment(snapshot, meta)],
        stylesheets=(CARD_CSS,),
    )
