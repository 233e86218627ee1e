"""Model card as a Google Model Card Toolkit (MCT) document, schema version 0.0.2.

``to_mct`` maps the snapshot onto the fields of the vendored schema
(``apps/reports/schemas/model_card.schema.v0.0.2.json``); ``mct_errors`` validates a document
against it. The schema has no field for thresholds, approvals or governance status, so those are
written as plain text into ``model_details.documentation`` and ``considerations.tradeoffs``;
mlgov's own JSON export holds everything in structured form. Empty values are left out.
"""

from __future__ import annotations

import json
import math
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

from jsonschema import Draft7Validator

SCHEMA_VERSION = "0.0.2"
SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schemas" / "model_card.schema.v0.0.2.json"
PROPRIETARY = "Proprietary — internal use"

# Dataset links are kept only for storage schemes; anything else (file:, javascript:, data:,
# bare paths) goes to the description as text.
LINK_SCHEMES = frozenset(
    {"http", "https", "s3", "s3a", "gs", "abfs", "abfss", "az", "wasbs", "hdfs", "dbfs"}
)


@cache
def schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def _prune(value):
    """Drop None, empty strings, lists and dicts, recursively."""
    if isinstance(value, dict):
        pruned = {k: _prune(v) for k, v in value.items()}
        return {k: v for k, v in pruned.items() if v not in (None, "", [], {})}
    if isinstance(value, list):
        pruned = [_prune(v) for v in value]
        return [v for v in pruned if v not in (None, "", [], {})]
    if isinstance(value, str):
        return value.strip()
    return value


def number(value) -> str:
    """A metric value as the schema's string: up to 6 significant digits, no exponent noise."""
    if isinstance(value, bool) or value is None:
        return "" if value is None else str(value).lower()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return f"{value:.6g}"
    return str(value)


def _date(iso: str | None) -> str:
    return (iso or "")[:10]


def _link(uri: str) -> str:
    uri = (uri or "").strip()
    try:
        parts = urlsplit(uri)
    except ValueError:
        return ""
    if parts.scheme.lower() in LINK_SCHEMES and parts.netloc and not any(c.isspace() for c in uri):
        return uri
    return ""


def _current_version(snapshot: dict) -> dict | None:
    versions = snapshot.get("versions") or []
    return snapshot.get("production_version") or (versions[0] if versions else None)


def _person(person: dict | None, role: str) -> dict | None:
    if not person:
        return None
    return {
        "name": f"{person.get('name') or person.get('username')} ({role})",
        "contact": f"mlgov user {person.get('username')}",
    }


def _owners(snapshot: dict) -> list[dict]:
    people = snapshot.get("people") or {}
    owners = [
        _person(people.get("owner"), "model owner"),
        _person(people.get("business_owner"), "business owner"),
    ]
    owners += [_person(p, "developer") for p in people.get("developers") or []]
    return [o for o in owners if o]


def _dataset(dataset: dict) -> dict:
    link = _link(dataset.get("uri") or "")
    facts = [dataset.get("role_label") or dataset.get("role") or ""]
    if dataset.get("version"):
        facts.append(f"version {dataset['version']}")
    if dataset.get("content_hash"):
        facts.append(f"content hash {dataset['content_hash']}")
    if dataset.get("uri") and not link:
        facts.append(f"location {dataset['uri']}")
    owner = dataset.get("owner") or {}
    if owner:
        facts.append(f"owner {owner.get('name') or owner.get('username')}")
    doc = {
        "name": dataset.get("name") or dataset.get("slug"),
        "link": link,
        "description": "; ".join(f for f in facts if f),
    }
    if dataset.get("contains_personal_data"):
        doc["sensitive"] = {"sensitive_data": ["Contains personal data"]}
    return doc


def _sentence(text: str | None) -> str:
    text = (text or "").strip()
    return text if not text or text[-1] in ".!?" else text + "."


def _architecture(model: dict, version: dict | None) -> str:
    parts = [_sentence(model.get("algorithm"))]
    if model.get("model_type_label"):
        parts.append(f"Model type: {model['model_type_label']}.")
    params = (version or {}).get("hyperparameters") or {}
    if params:
        listed = ", ".join(
            f"{k}={json.dumps(v, sort_keys=True, ensure_ascii=False)}"
            for k, v in sorted(params.items())
        )
        parts.append(f"Hyperparameters: {listed}.")
    return " ".join(p for p in parts if p)


def _slice(metric: dict) -> str:
    parts = [metric.get("segment") or ""]
    if metric.get("version"):
        parts.append(f"version {metric['version']}")
    return "; ".join(p for p in parts if p)


def _performance_metrics(snapshot: dict, version: dict | None) -> list[dict]:
    metrics = []
    for metric in snapshot.get("metrics") or []:
        latest = metric.get("latest")
        metrics.append(
            {
                "type": metric.get("metric"),
                "value": number(latest["value"]) if latest else "",
                "slice": _slice(metric),
            }
        )
    if version:
        eval_names = [
            d.get("name") for d in version.get("datasets") or [] if d.get("role") == "evaluated_on"
        ]
        where = f"offline evaluation of version {version.get('version')}"
        if eval_names:
            where += " on " + ", ".join(n for n in eval_names if n)
        for name, value in sorted((version.get("evaluation_metrics") or {}).items()):
            if isinstance(value, bool | int | float | str):
                metrics.append({"type": name, "value": number(value), "slice": where})
    return metrics


def threshold_text(metric: dict) -> str:
    """A signed threshold in one sentence, for formats without a field for it."""
    t = metric.get("threshold") or {}
    name = metric.get("metric") or ""
    scope = _slice(metric)
    head = f"{name} ({scope})" if scope else name
    direction = t.get("direction") or ""
    how = [t.get("evaluation_label") or t.get("evaluation") or ""]
    if t.get("window_days"):
        how.append(f"window {t['window_days']} days")
    if t.get("min_samples") is not None:
        how.append(f"minimum samples {t['min_samples']}")
    text = (
        f"{head}: warning {direction} {number(t.get('warning_bound'))}, critical {direction} "
        f"{number(t.get('critical_bound'))} ({'; '.join(h for h in how if h)})."
    )
    signoff = t.get("signoff")
    if signoff:
        names = ", ".join(
            a.get("name") or a.get("username") for a in signoff.get("approvers") or []
        )
        text += (
            f" Signed off {signoff.get('approved_at')} by {names}"
            f" (content SHA-256 {signoff.get('content_sha256')})."
        )
    else:
        text += " Not signed off."
    if t.get("rationale"):
        text += f" Rationale: {t['rationale']}"
    state = metric.get("state")
    if state:
        text += f" Current state: {state}."
    return text


def _documentation(snapshot: dict, meta: dict) -> str:
    model = snapshot.get("model") or {}
    risk = model.get("risk") or {}
    eu = model.get("eu_ai_act") or {}
    unit = model.get("business_unit") or {}
    lines = [model.get("description") or ""]
    lines.append(f"Business unit: {unit.get('name')} ({unit.get('code')}).")
    origin = model.get("origin_label") or model.get("origin")
    if model.get("vendor"):
        origin = f"{origin}, vendor {model['vendor']}"
    lines.append(f"Origin: {origin}. Lifecycle status: {model.get('status_label')}.")
    if risk.get("tier") is not None:
        assessor = (risk.get("assessed_by") or {}).get("name") or "unknown"
        lines.append(
            f"Risk tier: {risk.get('tier_label')}, assessed by {assessor} on "
            f"{risk.get('assessed_at')}. Rationale: {risk.get('rationale') or '—'}"
        )
    else:
        lines.append("Risk tier: not assessed.")
    eu_text = f"EU AI Act classification: {eu.get('class_label') or eu.get('class')}"
    if eu.get("annex_iii_point"):
        eu_text += f", Annex III point {eu.get('annex_iii_label') or eu['annex_iii_point']}"
    lines.append(eu_text + ".")
    if model.get("explainability"):
        lines.append(f"Explainability: {model['explainability']}")
    if model.get("human_oversight_contact"):
        lines.append(f"Human oversight contact: {model['human_oversight_contact']}")
    if model.get("next_review_date"):
        lines.append(f"Next periodic review: {model['next_review_date']}.")
    lines.append(
        f"Record as of {snapshot.get('as_of')}; snapshot SHA-256 {meta.get('snapshot_sha256')}; "
        f"generated {meta.get('generated_at')} by {meta.get('generator')}."
    )
    return "\n\n".join(line for line in lines if line)


def _overview(model: dict) -> str:
    text = (model.get("description") or model.get("purpose") or "").strip()
    return text.splitlines()[0] if text else ""


def to_mct(snapshot: dict, meta: dict) -> dict:
    """The snapshot as a Model Card Toolkit v0.0.2 document (JSON-ready dict)."""
    model = snapshot.get("model") or {}
    version = _current_version(snapshot)
    version_doc = None
    if version:
        version_doc = {
            "name": version.get("version"),
            "date": _date(version.get("approved_at") or version.get("created_at")),
            "diff": version.get("description"),
        }
    datasets = (version or {}).get("datasets") or []
    doc = {
        "schema_version": SCHEMA_VERSION,
        "model_details": {
            "name": model.get("name"),
            "overview": _overview(model),
            "documentation": _documentation(snapshot, meta),
            "owners": _owners(snapshot),
            "version": version_doc,
            "licenses": [{"custom_text": PROPRIETARY}],
            "references": [{"reference": f"urn:mlgov:model:{model.get('slug')}"}],
            "citations": [
                {
                    "style": "text",
                    "citation": (
                        f"{model.get('name')} ({model.get('slug')}), model card as of "
                        f"{snapshot.get('as_of')}, {meta.get('generator')}, snapshot SHA-256 "
                        f"{meta.get('snapshot_sha256')}."
                    ),
                }
            ],
            "path": (version or {}).get("artifact_uri"),
        },
        "model_parameters": {
            "model_architecture": _architecture(model, version),
            "data": [_dataset(d) for d in datasets],
            "input_format": model.get("inputs"),
            "output_format": model.get("outputs"),
        },
        "quantitative_analysis": {
            "performance_metrics": _performance_metrics(snapshot, version),
        },
        "considerations": {
            "users": [{"description": model.get("intended_users")}],
            "use_cases": [{"description": model.get("purpose")}],
            "limitations": [
                {"description": model.get("limitations")},
                {"description": _prefixed("Assumption", model.get("assumptions"))},
                {"description": _prefixed("Out of scope", model.get("out_of_scope_uses"))},
            ],
            "tradeoffs": [
                {"description": "Signed performance threshold — " + threshold_text(m)}
                for m in snapshot.get("metrics") or []
            ],
            "ethical_considerations": [
                {
                    "name": model.get("ethical_considerations"),
                    "mitigation_strategy": _mitigation(model),
                }
            ],
        },
    }
    doc = _prune(doc)
    # An ethical risk without a name says nothing: drop a lone mitigation.
    considerations = doc.get("considerations") or {}
    risks = [r for r in considerations.get("ethical_considerations", []) if r.get("name")]
    if risks:
        considerations["ethical_considerations"] = risks
    else:
        considerations.pop("ethical_considerations", None)
    if not considerations:
        doc.pop("considerations", None)
    return doc


def _prefixed(prefix: str, text: str | None) -> str:
    text = (text or "").strip()
    return f"{prefix}: {text}" if text else ""


def _mitigation(model: dict) -> str:
    parts = []
    if model.get("human_oversight_contact"):
        parts.append(f"Human oversight: {model['human_oversight_contact']}.")
    if model.get("explainability"):
        parts.append(f"Explainability: {model['explainability']}")
    return " ".join(parts)


def mct_errors(doc: dict) -> list[str]:
    """Schema violations of an MCT document, each as '<JSON path>: <message>'; [] when valid."""
    validator = Draft7Validator(schema(), format_checker=Draft7Validator.FORMAT_CHECKER)
    errors = sorted(
        validator.iter_errors(doc), key=lambda e: (list(map(str, e.absolute_path)), e.message)
    )
    return [f"{e.json_path}: {e.message}" for e in errors]


def mct_json_bytes(snapshot: dict, meta: dict) -> bytes:
    """The MCT document as indented, key-sorted UTF-8 JSON."""
    text = json.dumps(to_mct(snapshot, meta), indent=2, sort_keys=True, ensure_ascii=False)
    return (text + "\n").encode("utf-8")
