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
from datetime import datetime, timedelta

import numpy as np
from django.template.loader import render_to_string

from apps.monitoring import charts
from apps.monitoring.drift.display import drift_bar
from apps.reports.coverage import coverage
from apps.reports.formats.jsonexport import card_json_bytes
from apps.reports.pdf import PdfAttachment, render_pdf, stylesheet_text

TEMPLATE = "reports/card/card.html"
CARD_CSS = "reports/card.css"
SCREEN_CSS = "reports/screen.css"
JSON_NAME = "model-card.json"

CHART_DAYS = 90
CHART_HEIGHT = 220
#: Changes printed in the card, newest first. The snapshot holds up to 200, all of them in the
#: attached JSON; the complete trail is the audit extract. Also bounds the card's length.
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
    ("metrics", "Metrics against signed thresholds"),
    ("drift", "Drift"),
    ("approvals", "Approvals"),
    ("incidents", "Incidents"),
    ("reviews", "Reviews and findings"),
    ("considerations", "Limitations, assumptions, ethics, explainability and oversight"),
    ("changes", "Change history"),
    ("coverage", "Regulatory coverage"),
    ("generation", "Generation metadata"),
    ("signoff", "Sign-off"),
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


def _metric_chart(metric: dict, index: int, as_of: datetime) -> charts.Chart | None:
    """The 90-day chart of one metric with its threshold's bands, or None without points."""
    points = [p for p in metric.get("series") or [] if p and p[1] is not None]
    if not points:
        return None
    x = np.array([parse_time(t).timestamp() for t, _ in points], dtype=float)
    y = np.array([float(v) for _, v in points], dtype=float)
    threshold = metric.get("threshold") or {}
    bands = None
    if threshold.get("warning_bound") is not None and threshold.get("critical_bound") is not None:
        bands = charts.Bands(
            direction=threshold.get("direction") or "below",
            warning=float(threshold["warning_bound"]),
            critical=float(threshold["critical_bound"]),
            label=f"Threshold #{threshold.get('id')}",
        )
    label = f"version {metric['version']}" if metric.get("version") else "all versions"
    if metric.get("segment"):
        label += f", {metric['segment']}"
    start = min(as_of - timedelta(days=CHART_DAYS), parse_time(points[0][0]))
    end = max(as_of, parse_time(points[-1][0]))
    return charts.build_chart(
        chart_id=f"card-metric-{index}",
        title=metric.get("metric") or "",
        unit=metric.get("unit") or "",
        series=[charts.Series(label=label, x=x, y=y)],
        start=start,
        end=end,
        bands=bands,
        height=CHART_HEIGHT,
    )


def _metrics(snapshot: dict, as_of: datetime) -> list[dict]:
    rows = []
    for index, metric in enumerate(snapshot.get("metrics") or []):
        shown = _display(metric)
        shown["state_label"] = STATE_LABELS.get(metric.get("state"), metric.get("state") or "")
        rows.append(
            {"m": shown, "state": metric.get("state"), "chart": _metric_chart(metric, index, as_of)}
        )
    return rows


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
        "changes": shown["changes"][:CHANGES_SHOWN],
        "changes_total": len(shown["changes"]),
        "metrics": _metrics(snapshot, as_of),
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


def card_html(snapshot: dict, meta: dict, *, for_pdf: bool) -> str:
    """The model card as one HTML document. For the browser (``for_pdf=False``) it is
    standalone: its stylesheets inlined, no external resource, printable. For the PDF the
    stylesheets are applied by ``render_pdf`` from its parsed cache."""
    return render_to_string(TEMPLATE, card_context(snapshot, meta, for_pdf=for_pdf))


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
