"""Model card as Markdown with Hugging Face model-card metadata.

The YAML front matter (license, tags, datasets, metrics, model-index with evaluation results and an
``mlgov`` block with the generation metadata) is produced by ``huggingface_hub.ModelCardData`` so
``huggingface_hub.ModelCard`` parses it back to the same dict. The body mirrors the card.

All user-written text goes through ``escape``: HTML special characters become entities and
Markdown punctuation is backslash-escaped, so text in the record cannot open HTML, links, images,
autolinks, code or block structure; it renders as the literal characters that were typed.
"""

from __future__ import annotations

import html
import math
import re

from huggingface_hub import EvalResult, ModelCardData

from apps.reports.coverage import coverage
from apps.reports.formats.mct import number, threshold_text
from apps.reports.snapshot.changes import labelled_change

DASH = "—"
LICENSE_NAME = "proprietary-internal-use"
#: The days of data behind ``observed_metrics`` (``apps.reports.snapshot.metrics.SERIES_DAYS``;
#: this module stays free of the ORM, a test keeps the two equal).
OBSERVED_DAYS = 90
#: Drift runs' own series (share of drifted columns, …): the Drift section reports them.
DRIFT_PREFIX = "drift."

# CommonMark/GFM punctuation that can start inline structure anywhere in a line: emphasis, code,
# links and images, raw HTML (handled as entities), autolinks (scheme colon, www., e-mail @),
# tables (|), strikethrough (~), math ($) and headings/footnotes (#, ^).
_INLINE = re.compile(r"([\\`*_{}\[\]()#+!|~:@$^])")
# Characters that only matter at the start of a line: list bullets, thematic breaks, setext
# underlines, and ordered-list markers (1–9 digits, then "." or ")" and a space or the end).
_LINE_START = re.compile(r"^([-=])|^(\d{1,9})([.)])(?=\s|$)")
_SAFE_CODE = re.compile(r"^[A-Za-z0-9._~:/?#@$&'*+,;=%-]+$")
# Dates and times (the record's own values) need no escaping.
_ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?$")


def escape(text, *, inline: bool = False) -> str:
    """User text as inert Markdown. ``inline`` folds line breaks into spaces (table cells)."""
    if text is None:
        return ""
    if _ISO_TIME.match(str(text)):
        return str(text)
    text = html.escape(str(text), quote=False)
    lines = []
    for raw in text.splitlines():
        line = _INLINE.sub(r"\\\1", raw.strip())
        line = re.sub(r"(?i)\b(www)\.", r"\1\\.", line)
        line = _LINE_START.sub(
            lambda m: "\\" + m.group(0) if m.group(1) else m.group(2) + "\\" + m.group(3), line
        )
        lines.append(line)
    if inline:
        return " ".join(line for line in lines if line)
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def cell(value) -> str:
    """A table cell: escaped, on one line, a dash when empty."""
    if value is None or value == "" or value == []:
        return DASH
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return number(value)
    return escape(value, inline=True) or DASH


def code(value) -> str:
    """An identifier (hash, commit, URI, slug) as a code span when it is plain, else escaped."""
    text = "" if value is None else str(value).strip()
    if not text:
        return DASH
    if _SAFE_CODE.match(text) and "](" not in text:
        return f"`{text}`"
    return escape(text, inline=True)


def person(value: dict | None) -> str:
    if not value:
        return DASH
    name = value.get("name") or value.get("username")
    roles = ", ".join(value.get("role_labels") or [])
    username = value.get("username")
    text = name if name == username else f"{name} ({username})"
    if roles:
        text += f", {roles}"
    return escape(text, inline=True)


def _table(headers: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _paragraph(text) -> str:
    return escape(text) or f"_{DASH} not recorded_"


def _tag(value: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", str(value).lower()).strip("-")


def _current_version(snapshot: dict) -> dict | None:
    versions = snapshot.get("versions") or []
    return snapshot.get("production_version") or (versions[0] if versions else None)


# ---------------------------------------------------------------------------------------------
# Hugging Face Hub task ids

#: The Hub's task ids this module may write (its ``pipeline_tag`` vocabulary, as listed on
#: huggingface.co/tasks); a card's task is always one of them.
HUB_TASKS = frozenset(
    {
        "tabular-classification",
        "tabular-regression",
        "time-series-forecasting",
        "text-classification",
        "token-classification",
        "question-answering",
        "summarization",
        "translation",
        "text-generation",
        "text-ranking",
        "image-classification",
        "object-detection",
        "image-segmentation",
        "text-to-image",
        "other",
    }
)
# Words in a model's algorithm, inputs and outputs that say what its data is.
_TEXT_WORDS = re.compile(
    r"\b(text|texts|nlp|language|transformer|bert|roberta|gpt|llm|token|tokens|sentence|"
    r"sentences|document|documents|e-?mails?|tf-?idf|word)\b",
    re.IGNORECASE,
)
_IMAGE_WORDS = re.compile(
    r"\b(image|images|photo|photos|picture|pictures|cnn|convolutional|resnet|"
    r"vit|yolo|pixels?|video|camera)\b",
    re.IGNORECASE,
)
_TIME_WORDS = re.compile(
    r"\b(time[- ]series|arima|sarima|prophet|lstm|temporal|sequence|sequences)\b",
    re.IGNORECASE,
)
# Within text, image and generative models: the narrower task their description names.
_NLP_TASKS = (
    (re.compile(r"summari[sz]", re.IGNORECASE), "summarization"),
    (re.compile(r"translat", re.IGNORECASE), "translation"),
    (
        re.compile(r"\b(named[- ]entit|entity|entities|ner|token classification)", re.I),
        "token-classification",
    ),
    (re.compile(r"\b(question|answer)", re.IGNORECASE), "question-answering"),
    (re.compile(r"\b(generat|chat|llm|gpt)", re.IGNORECASE), "text-generation"),
    (re.compile(r"\b(rank|retriev|search)", re.IGNORECASE), "text-ranking"),
)
_VISION_TASKS = (
    (re.compile(r"\b(detect|detection|bounding|yolo)", re.IGNORECASE), "object-detection"),
    (re.compile(r"\bsegment", re.IGNORECASE), "image-segmentation"),
)


def hub_task(model: dict) -> str:
    """The Hugging Face Hub task id of a model, from its type and the words of its algorithm,
    inputs and outputs: a classifier of text is ``text-classification``, of images
    ``image-classification``, of records (the default) ``tabular-classification``; a
    regression ``tabular-regression``; a forecast ``time-series-forecasting``; a language or
    vision model its narrower task when its description names one; ``other`` otherwise."""
    kind = model.get("model_type") or "other"
    words = " ".join(str(model.get(f) or "") for f in ("algorithm", "inputs", "outputs"))
    text = bool(_TEXT_WORDS.search(words))
    image = bool(_IMAGE_WORDS.search(words))
    if kind == "classification":
        if text:
            return "text-classification"
        return "image-classification" if image else "tabular-classification"
    if kind == "regression":
        return "time-series-forecasting" if _TIME_WORDS.search(words) else "tabular-regression"
    if kind == "forecasting":
        return "time-series-forecasting"
    if kind == "anomaly_detection":
        # An anomaly detector labels records (or points of a series) normal or anomalous.
        if image:
            return "image-classification"
        return "text-classification" if text else "tabular-classification"
    if kind == "ranking":
        # A ranker of documents or passages is the Hub's text ranking; a recommender scores
        # records, which the Hub files under tabular regression.
        return "text-ranking" if text else "tabular-regression"
    if kind == "nlp":
        return _named(words, _NLP_TASKS, "text-classification")
    if kind == "vision":
        return _named(words, _VISION_TASKS, "image-classification")
    if kind == "generative":
        return "text-to-image" if image else "text-generation"
    return "other"


def _named(words: str, tasks, default: str) -> str:
    return next((task for pattern, task in tasks if pattern.search(words)), default)


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


# ---------------------------------------------------------------------------------------------
# Front matter


def _eval_results(snapshot: dict, version: dict | None) -> list[EvalResult]:
    model = snapshot.get("model") or {}
    task_type = hub_task(model)
    task_name = model.get("model_type_label") or None
    results = []
    for metric in snapshot.get("metrics") or []:
        latest = metric.get("latest")
        if not latest or not _is_number(latest.get("value")):
            continue
        threshold = metric.get("threshold") or {}
        args = {
            "observed_at": latest.get("observed_at"),
            "state": metric.get("state"),
            "direction": threshold.get("direction"),
            "warning_bound": threshold.get("warning_bound"),
            "critical_bound": threshold.get("critical_bound"),
            "signed_off": threshold.get("signoff") is not None,
        }
        results.append(
            EvalResult(
                task_type=task_type,
                task_name=task_name,
                dataset_type="mlgov/production-monitoring",
                dataset_name="Production monitoring",
                dataset_config=metric.get("segment") or None,
                dataset_split=f"version {metric['version']}" if metric.get("version") else None,
                metric_type=metric.get("metric"),
                metric_name=f"{metric.get('metric')} (latest observation)",
                metric_value=latest["value"],
                metric_args={k: v for k, v in args.items() if v is not None},
            )
        )
    if version:
        eval_sets = [d for d in version.get("datasets") or [] if d.get("role") == "evaluated_on"]
        dataset = eval_sets[0] if eval_sets else {}
        for name, value in sorted((version.get("evaluation_metrics") or {}).items()):
            if not _is_number(value):
                continue
            results.append(
                EvalResult(
                    task_type=task_type,
                    task_name=task_name,
                    dataset_type=dataset.get("slug") or "mlgov/offline-evaluation",
                    dataset_name=dataset.get("name") or "Offline evaluation",
                    dataset_revision=dataset.get("version") or None,
                    dataset_split="evaluation",
                    metric_type=name,
                    metric_name=f"{name} (offline evaluation, version {version.get('version')})",
                    metric_value=value,
                )
            )
    return results


def card_data(snapshot: dict, meta: dict) -> ModelCardData:
    """The Hugging Face card metadata of the snapshot."""
    model = snapshot.get("model") or {}
    version = _current_version(snapshot)
    risk = model.get("risk") or {}
    eu = model.get("eu_ai_act") or {}
    tags = ["mlgov", "model-card"]
    for value in (
        model.get("model_type"),
        f"status-{model.get('status')}" if model.get("status") else "",
        f"risk-tier-{risk['tier']}" if risk.get("tier") is not None else "",
        f"eu-ai-act-{eu.get('class')}" if eu.get("class") else "",
    ):
        if value:
            tags.append(_tag(value))
    # A dataset both trained and evaluated on is one dataset of the card.
    datasets = list(
        dict.fromkeys(d["slug"] for d in (version or {}).get("datasets") or [] if d.get("slug"))
    )
    metric_names = [m.get("metric") for m in snapshot.get("metrics") or [] if m.get("metric")]
    metric_names += [m["metric"] for m in _observed(snapshot)]
    metric_names += sorted(((version or {}).get("evaluation_metrics") or {}).keys())
    metric_names = list(dict.fromkeys(metric_names))
    results = _eval_results(snapshot, version)
    cov = coverage(snapshot)
    return ModelCardData(
        license="other",
        license_name=LICENSE_NAME,
        tags=tags,
        pipeline_tag=hub_task(model),
        datasets=datasets or None,
        metrics=metric_names or None,
        model_name=model.get("slug") if results else None,
        eval_results=results or None,
        mlgov={
            "model": model.get("slug"),
            "version": (version or {}).get("version"),
            "as_of": snapshot.get("as_of"),
            "as_of_requested": bool(snapshot.get("as_of_requested")),
            "risk_tier": risk.get("tier"),
            "eu_ai_act_class": eu.get("class"),
            "coverage_score": cov["score"],
            "generated_at": meta.get("generated_at"),
            "generated_by": (meta.get("generated_by") or {}).get("username"),
            "generator": meta.get("generator"),
            "snapshot_sha256": meta.get("snapshot_sha256"),
            "audit_chain_head": meta.get("audit_chain_head"),
            "report_id": meta.get("report_id"),
        },
    )


def front_matter(snapshot: dict, meta: dict) -> dict:
    """The metadata dict written as YAML front matter (what ``ModelCard`` parses back)."""
    return card_data(snapshot, meta).to_dict()


# ---------------------------------------------------------------------------------------------
# Body


def _overview(snapshot: dict) -> list[str]:
    model = snapshot["model"]
    unit = model.get("business_unit") or {}
    rows = [
        ["Model", code(model.get("slug"))],
        ["Business unit", cell(f"{unit.get('name')} ({unit.get('code')})")],
        ["Origin", cell(model.get("origin_label"))],
        ["Vendor", cell(model.get("vendor"))],
        ["Lifecycle status", cell(model.get("status_label"))],
        ["Next review", cell(model.get("next_review_date"))],
        ["Record as of", cell(snapshot.get("as_of"))],
    ]
    return [
        _table(["Field", "Value"], rows),
        "## Description",
        _paragraph(model.get("description")),
    ]


def _purpose(model: dict) -> list[str]:
    return [
        "## Purpose and intended use",
        _paragraph(model.get("purpose")),
        "### Intended users",
        _paragraph(model.get("intended_users")),
        "## Out-of-scope uses",
        _paragraph(model.get("out_of_scope_uses")),
    ]


def _owners(snapshot: dict) -> list[str]:
    people = snapshot.get("people") or {}
    rows = [
        ["Model owner", person(people.get("owner"))],
        ["Business owner", person(people.get("business_owner"))],
        ["Validator", person(people.get("validator"))],
    ]
    rows += [["Developer", person(p)] for p in people.get("developers") or []]
    return ["## Owners and roles", _table(["Role", "Person"], rows)]


def _risk(snapshot: dict) -> list[str]:
    model = snapshot["model"]
    risk = model.get("risk") or {}
    eu = model.get("eu_ai_act") or {}
    rows = [
        ["Risk tier", cell(risk.get("tier_label") or "not assessed")],
        ["Rationale", cell(risk.get("rationale"))],
        ["Assessed by", person(risk.get("assessed_by"))],
        ["Assessed at", cell(risk.get("assessed_at"))],
        ["EU AI Act class", cell(eu.get("class_label"))],
        ["Annex III point", cell(eu.get("annex_iii_point") and eu.get("annex_iii_label"))],
    ]
    out = ["## Risk", _table(["Field", "Value"], rows)]
    assessments = snapshot.get("risk_assessments") or []
    if assessments:
        out += [
            "### Risk assessments",
            _table(
                [
                    "Assessed at",
                    "By",
                    "EU AI Act class",
                    "Points",
                    "Suggested",
                    "Decided",
                    "Status",
                    "Reason",
                ],
                [
                    [
                        cell(a.get("assessed_at")),
                        person(a.get("assessed_by")),
                        cell(a.get("eu_ai_act_class")),
                        cell(a.get("points")),
                        cell(a.get("suggested_tier")),
                        cell(a.get("decided_tier")),
                        cell(a.get("status")),
                        cell(a.get("decision_reason")),
                    ]
                    for a in assessments
                ],
            ),
        ]
    lifecycle = model.get("lifecycle") or {}
    labels = [
        ("created_at", "Registered"),
        ("validation_started_at", "Validation started"),
        ("approved_at", "Approved"),
        ("deployed_at", "Deployed"),
        ("status_changed_at", "Status last changed"),
        ("retired_at", "Retired"),
        ("retirement_reason", "Retirement reason"),
    ]
    out += [
        "### Lifecycle",
        _table(["Event", "When"], [[lbl, cell(lifecycle.get(k))] for k, lbl in labels]),
    ]
    return out


def _design(snapshot: dict, version: dict | None) -> list[str]:
    model = snapshot["model"]
    rows = [
        ["Model type", cell(model.get("model_type_label"))],
        ["Algorithm", cell(model.get("algorithm"))],
        ["Inputs", cell(model.get("inputs"))],
        ["Outputs", cell(model.get("outputs"))],
        ["Downstream consumers", cell(model.get("downstream_consumers"))],
    ]
    out = ["## Model design", _table(["Field", "Value"], rows)]
    params = (version or {}).get("hyperparameters") or {}
    if params:
        out += [
            f"### Hyperparameters of version {cell(version.get('version'))}",
            _table(
                ["Name", "Value"], [[cell(k), code(_scalar(v))] for k, v in sorted(params.items())]
            ),
        ]
    return out


def _scalar(value) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return number(value)
    return str(value)


def _versions(snapshot: dict, version: dict | None) -> list[str]:
    out = ["## Versions"]
    if not version:
        return [*out, f"_{DASH} no versions recorded_"]
    production = snapshot.get("production_version")
    title = "Production version" if production else "Latest version (none in production)"
    rows = [
        ["Version", cell(version.get("version"))],
        ["Stage", cell(version.get("stage_label"))],
        ["Description", cell(version.get("description"))],
        ["Artifact URI", code(version.get("artifact_uri"))],
        ["Artifact SHA-256", code(version.get("artifact_sha256"))],
        ["Code commit", code(version.get("code_commit"))],
        ["Created", cell(version.get("created_at"))],
        ["Created by", person(version.get("created_by"))],
        ["Approved", cell(version.get("approved_at"))],
        ["Approved by", person(version.get("approved_by"))],
    ]
    out += [f"### {title}", _table(["Field", "Value"], rows)]
    datasets = _each_dataset_once(version.get("datasets") or [])
    if datasets:
        out += [
            "### Training and evaluation data",
            _table(
                ["Role", "Dataset", "Version", "URI", "Content hash", "Owner", "Personal data"],
                [
                    [
                        cell(", ".join(roles)),
                        cell(d.get("name")),
                        cell(d.get("version")),
                        code(d.get("uri")),
                        code(d.get("content_hash")),
                        person(d.get("owner")),
                        cell(bool(d.get("contains_personal_data"))),
                    ]
                    for d, roles in datasets
                ],
            ),
        ]
    out += [
        "### All versions",
        _table(
            [
                "Version",
                "Stage",
                "Created",
                "Approved",
                "Approved by",
                "Artifact SHA-256",
                "Code commit",
            ],
            [
                [
                    cell(v.get("version")),
                    cell(v.get("stage_label")),
                    cell(v.get("created_at")),
                    cell(v.get("approved_at")),
                    person(v.get("approved_by")),
                    code(v.get("artifact_sha256")),
                    code(v.get("code_commit")),
                ]
                for v in snapshot.get("versions") or []
            ],
        ),
    ]
    return out


def _each_dataset_once(datasets: list[dict]) -> list[tuple[dict, list[str]]]:
    """Each dataset of a version once, with its roles (a dataset both trained and evaluated
    on is one row "Trained on, Evaluated on"), in the order first listed."""
    merged: dict[str, tuple[dict, list[str]]] = {}
    for d in datasets:
        key = d.get("slug") or d.get("name") or str(len(merged))
        _, roles = merged.setdefault(key, (d, []))
        role = d.get("role_label") or d.get("role")
        if role and role not in roles:
            roles.append(role)
    return list(merged.values())


def _deployments(snapshot: dict) -> list[str]:
    out = ["## Deployments and dependencies"]
    deployments = snapshot.get("deployments") or []
    if deployments:
        out.append(
            _table(
                ["Version", "Environment", "Endpoint", "Consumers", "Status", "Deployed"],
                [
                    [
                        cell(d.get("version")),
                        cell(d.get("environment_label")),
                        code(d.get("endpoint")),
                        cell(d.get("consumers")),
                        cell(d.get("status_label")),
                        cell(d.get("deployed_at")),
                    ]
                    for d in deployments
                ],
            )
        )
    else:
        out.append(f"_{DASH} no deployments recorded_")
    deps = snapshot.get("dependencies") or {}
    rows = [
        [direction, cell(d.get("name")), code(d.get("slug")), cell(d.get("description"))]
        for direction, key in (("Upstream", "upstream"), ("Downstream", "downstream"))
        for d in deps.get(key) or []
    ]
    if rows:
        out += ["### Model dependencies", _table(["Direction", "Model", "Slug", "Note"], rows)]
    return out


def _metrics(snapshot: dict) -> list[str]:
    out = ["## Metrics against signed thresholds"]
    metrics = snapshot.get("metrics") or []
    if not metrics:
        return [*out, f"_{DASH} no active thresholds_"]
    rows = []
    for m in metrics:
        t = m.get("threshold") or {}
        latest = m.get("latest") or {}
        signoff = t.get("signoff") or {}
        rows.append(
            [
                cell(m.get("metric")),
                cell(m.get("segment") or "all"),
                cell(m.get("version") or "all"),
                cell(latest.get("value")),
                cell(latest.get("observed_at")),
                cell(m.get("evaluated_value")),
                cell(m.get("state")),
                cell(f"{t.get('direction')} {number(t.get('warning_bound'))}"),
                cell(f"{t.get('direction')} {number(t.get('critical_bound'))}"),
                cell(signoff.get("approved_at") or "not signed off"),
            ]
        )
    out.append(
        _table(
            [
                "Metric",
                "Segment",
                "Version",
                "Latest",
                "Observed",
                "Evaluated",
                "State",
                "Warning",
                "Critical",
                "Signed off",
            ],
            rows,
        )
    )
    out.append("### Thresholds")
    out += [f"- {escape(threshold_text(m), inline=True)}" for m in metrics]
    return out


def _observed(snapshot: dict) -> list[dict]:
    """The model's metrics with data in the last ``OBSERVED_DAYS`` days, thresholded or not
    (drift runs' series aside), by name."""
    return [
        m
        for m in snapshot.get("observed_metrics") or []
        if m.get("metric") and not m["metric"].startswith(DRIFT_PREFIX)
    ]


def _observed_metrics(snapshot: dict) -> list[str]:
    out = [f"## Every metric observed in the last {OBSERVED_DAYS} days"]
    observed = _observed(snapshot)
    if not observed:
        return [*out, f"_{DASH} no metric recorded in the last {OBSERVED_DAYS} days_"]
    out.append(
        "Every metric with data recorded for the model (all segments together), whether a "
        "signed threshold watches it or not: the latest daily mean of each version."
    )
    watched = {m.get("metric") for m in snapshot.get("metrics") or []}
    rows = []
    for m in observed:
        for v in m.get("versions") or []:
            series = [p for p in v.get("series") or [] if len(p) == 2]
            if not series:
                continue
            at, value = max(series, key=lambda p: str(p[0]))
            rows.append(
                [
                    cell(m["metric"]),
                    cell(m.get("description")),
                    cell(m.get("unit")),
                    cell(v.get("version")),
                    cell(value),
                    cell(at),
                    cell(len(series)),
                    cell(m["metric"] in watched),
                ]
            )
    headers = [
        "Metric",
        "Description",
        "Unit",
        "Version",
        "Latest daily mean",
        "Observed",
        "Days with data",
        "Threshold",
    ]
    return [*out, _table(headers, rows)]


def _drift(snapshot: dict) -> list[str]:
    drift = snapshot.get("drift")
    out = ["## Drift"]
    if not drift:
        return [*out, f"_{DASH} no drift run recorded_"]
    share = drift.get("drift_share")
    out.append(
        escape(
            f"Latest run {drift.get('observed_at')} on version {drift.get('version')}: "
            f"{drift.get('columns_drifted')} of {drift.get('columns_total')} columns drifted "
            f"(share {number(share)}); dataset drift: "
            f"{'yes' if drift.get('dataset_drift') else 'no'}.",
        )
    )
    columns = drift.get("columns") or []
    if columns:
        out.append(
            _table(
                ["Column", "Kind", "Method", "Score", "Threshold", "Drifted", "PSI"],
                [
                    [
                        cell(c.get("column")),
                        cell(c.get("kind")),
                        cell(c.get("method")),
                        cell(c.get("score")),
                        cell(c.get("threshold")),
                        cell(bool(c.get("drifted"))),
                        cell(c.get("psi")),
                    ]
                    for c in columns
                ],
            )
        )
    return out


def _approvals(snapshot: dict) -> list[str]:
    out = ["## Approvals"]
    approvals = snapshot.get("approvals") or []
    if not approvals:
        return [*out, f"_{DASH} no approvals recorded_"]
    for a in approvals:
        out += [
            f"### {cell(a.get('kind_label'))}: {cell(a.get('title'))}",
            _table(
                ["Field", "Value"],
                [
                    ["Request", cell(a.get("id"))],
                    ["Status", cell(a.get("status_label"))],
                    ["Requested by", person(a.get("requested_by"))],
                    ["Requested", cell(a.get("requested_at"))],
                    ["Closed", cell(a.get("closed_at"))],
                    ["Content SHA-256", code(a.get("content_sha256"))],
                ],
            ),
        ]
        decisions = a.get("decisions") or []
        if decisions:
            out.append(
                _table(
                    [
                        "Approver",
                        "Slot",
                        "Verdict",
                        "Signed",
                        "Signature",
                        "Meaning",
                        "Comment",
                        "Content SHA-256",
                    ],
                    [
                        [
                            person(d.get("approver")),
                            cell(d.get("slot_label")),
                            cell(d.get("verdict_label")),
                            cell(d.get("signed_at")),
                            cell((d.get("signature") or {}).get("label")),
                            cell(d.get("meaning")),
                            cell(d.get("comment")),
                            code(d.get("content_sha256")),
                        ]
                        for d in decisions
                    ],
                )
            )
    return out


def _incidents(snapshot: dict) -> list[str]:
    out = ["## Incidents"]
    incidents = snapshot.get("incidents") or []
    if not incidents:
        return [*out, f"_{DASH} no incidents recorded_"]
    for i in incidents:
        out += [
            f"### {cell(i.get('reference'))}: {cell(i.get('title'))}",
            _table(
                ["Field", "Value"],
                [
                    ["Severity", cell(i.get("severity"))],
                    ["Status", cell(i.get("status_label"))],
                    ["Detected", cell(i.get("detected_at"))],
                    ["Aware", cell(i.get("awareness_at"))],
                    ["Serious incident (Art. 73)", cell(i.get("serious_category_label"))],
                    ["Reporting deadline", cell(i.get("reporting_deadline"))],
                    ["Reported", cell(i.get("reported_at"))],
                    ["Resolved", cell(i.get("resolved_at"))],
                    ["Closed", cell(i.get("closed_at"))],
                    ["Affected versions", cell(", ".join(i.get("affected_versions") or []))],
                ],
            ),
            "**Description**",
            _paragraph(i.get("description")),
            "**Impact**",
            _paragraph(i.get("impact")),
            "**Root cause**",
            _paragraph(i.get("root_cause")),
            "**Corrective actions**",
            _paragraph(i.get("corrective_actions")),
        ]
    return out


def _reviews(snapshot: dict) -> list[str]:
    out = ["## Reviews and findings"]
    reviews = snapshot.get("reviews") or []
    findings = snapshot.get("findings") or []
    if reviews:
        out.append(
            _table(
                ["Review", "Reviewer", "Scope", "Status", "Outcome", "Due", "Reviewed", "Attested"],
                [
                    [
                        cell(r.get("id")),
                        person(r.get("reviewer")),
                        cell(r.get("scope")),
                        cell(r.get("status_label")),
                        cell(r.get("outcome_label")),
                        cell(r.get("due_date")),
                        cell(r.get("reviewed_on")),
                        cell(r.get("attested_at")),
                    ]
                    for r in reviews
                ],
            )
        )
    else:
        out.append(f"_{DASH} no reviews recorded_")
    if findings:
        out += [
            "### Findings",
            _table(
                ["Finding", "Title", "Severity", "Status", "Owner", "Due", "Description"],
                [
                    [
                        cell(f.get("id")),
                        cell(f.get("title")),
                        cell(f.get("severity_label")),
                        cell(f.get("status_label")),
                        person(f.get("owner")),
                        cell(f.get("due_date")),
                        cell(f.get("description")),
                    ]
                    for f in findings
                ],
            ),
        ]
    return out


def _considerations(model: dict) -> list[str]:
    return [
        "## Limitations",
        _paragraph(model.get("limitations")),
        "## Assumptions",
        _paragraph(model.get("assumptions")),
        "## Ethical considerations",
        _paragraph(model.get("ethical_considerations")),
        "## Explainability",
        _paragraph(model.get("explainability")),
        "## Human oversight",
        _paragraph(model.get("human_oversight_contact")),
    ]


def _changes(snapshot: dict) -> list[str]:
    out = ["## Change history"]
    changes = snapshot.get("changes") or []
    if not changes:
        return [*out, f"_{DASH} no changes recorded_"]
    out.append(
        _table(
            ["Sequence", "When", "Actor", "Action", "Object", "Fields", "Message"],
            [
                [
                    cell(c.get("sequence")),
                    cell(c.get("occurred_at")),
                    cell(c.get("actor")),
                    cell(c["action_label"]),
                    cell(f"{c['type_label']}: {c.get('object_repr')}"),
                    cell(", ".join(c["field_labels"])),
                    cell(c.get("message")),
                ]
                for c in map(labelled_change, changes)
            ],
        )
    )
    return out


def _coverage(snapshot: dict) -> list[str]:
    cov = coverage(snapshot)
    rows = [
        [
            cell(i["label"]),
            "present" if i["present"] else "**missing**",
            *(cell(v) for v in i["sources"].values()),
        ]
        for i in cov["items"]
    ]
    headers = ["Documentation item", "Status", *(cell(k) for k in cov["items"][0]["sources"])]
    return [
        "## Regulatory coverage",
        f"Completeness: {cov['present']} of {cov['total']} items present "
        f"({round(cov['score'] * 100)} %). References are to topics and points of the named "
        "documents.",
        _table(headers, rows),
    ]


def _generation(snapshot: dict, meta: dict) -> list[str]:
    head = meta.get("audit_chain_head") or snapshot.get("audit_chain_head") or {}
    rows = [
        ["Generated at", cell(meta.get("generated_at"))],
        ["Generated by", person(meta.get("generated_by"))],
        ["Generator", cell(meta.get("generator"))],
        ["Record as of", cell(meta.get("as_of") or snapshot.get("as_of"))],
        ["Snapshot SHA-256", code(meta.get("snapshot_sha256"))],
        ["Audit chain head", f"{cell(head.get('sequence'))} / {code(head.get('hash'))}"],
        ["Report", cell(meta.get("report_id"))],
    ]
    checkpoint = meta.get("audit_checkpoint")
    if checkpoint:
        rows.append(
            [
                "Audit checkpoint",
                f"{cell(checkpoint.get('sequence'))} / {code(checkpoint.get('hash'))}, signed "
                f"{cell(checkpoint.get('checkpointed_at'))} with key "
                f"{code(checkpoint.get('key_id'))}, signature {code(checkpoint.get('signature'))}",
            ]
        )
    return ["## Generation metadata", _table(["Field", "Value"], rows)]


def to_markdown(snapshot: dict, meta: dict) -> str:
    """The model card as Markdown with Hugging Face YAML front matter."""
    model = snapshot["model"]
    version = _current_version(snapshot)
    yaml_block = card_data(snapshot, meta).to_yaml()
    blocks = [
        f"# Model card: {escape(model.get('name'), inline=True)}",
        *_overview(snapshot),
        *_purpose(model),
        *_owners(snapshot),
        *_risk(snapshot),
        *_design(snapshot, version),
        *_versions(snapshot, version),
        *_deployments(snapshot),
        *_metrics(snapshot),
        *_observed_metrics(snapshot),
        *_drift(snapshot),
        *_approvals(snapshot),
        *_incidents(snapshot),
        *_reviews(snapshot),
        *_considerations(model),
        *_changes(snapshot),
        *_coverage(snapshot),
        *_generation(snapshot, meta),
    ]
    return f"---\n{yaml_block}\n---\n\n" + "\n\n".join(blocks) + "\n"
