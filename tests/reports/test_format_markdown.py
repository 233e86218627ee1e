"""Markdown model card: Hugging Face metadata round trip and inert user text."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from huggingface_hub import ModelCard
from markdown_it import MarkdownIt

from apps.reports.formats.markdown import HUB_TASKS, escape, front_matter, hub_task, to_markdown
from tests.reports import sample
from tests.reports.sample import minimal_snapshot, sample_meta, sample_snapshot


def _body(text: str) -> str:
    assert text.startswith("---\n")
    return text.split("\n---\n", 1)[1]


def _html(text: str) -> str:
    # CommonMark with raw HTML enabled: the escaping, not the renderer, must keep text inert.
    return MarkdownIt("commonmark", {"html": True}).enable("table").render(_body(text))


ALLOWED_TAGS = {
    "h1",
    "h2",
    "h3",
    "p",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "code",
    "strong",
    "em",
    "ul",
    "li",
}


class _Elements(HTMLParser):
    """Every element, attribute and comment of rendered HTML."""

    def __init__(self, html: str):
        super().__init__()
        self.tags: set[str] = set()
        self.attrs: list[tuple] = []
        self.comments: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        self.attrs += attrs

    def handle_comment(self, data):
        self.comments.append(data)


def _assert_inert(rendered: str) -> None:
    elements = _Elements(rendered)
    assert elements.tags <= ALLOWED_TAGS, elements.tags - ALLOWED_TAGS
    assert elements.attrs == []
    assert elements.comments == []


@pytest.mark.parametrize("make", [sample_snapshot, minimal_snapshot])
def test_its_metadata_round_trips_through_huggingface_model_card(make, tmp_path):
    snapshot, meta = make(), sample_meta()
    text = to_markdown(snapshot, meta)
    path = tmp_path / "README.md"
    path.write_text(text, encoding="utf-8")

    parsed = ModelCard(text).data.to_dict()
    loaded = ModelCard.load(path).data.to_dict()

    assert parsed == front_matter(snapshot, meta)
    assert loaded == parsed


def test_its_metadata_carries_license_tags_datasets_metrics_and_model_index():
    card = ModelCard(to_markdown(sample_snapshot(), sample_meta()))
    data = card.data.to_dict()

    assert data["license"] == "other"
    assert data["license_name"] == "proprietary-internal-use"
    assert {"mlgov", "model-card", "risk-tier-2", "eu-ai-act-minimal"} <= set(data["tags"])
    assert data["datasets"] == ["deliveries-2025h2", "deliveries-2026q1-holdout"]
    # Thresholded first, then the others observed (drift runs' aside), each once.
    assert data["metrics"] == ["auc", "precision_at_10", "brier", "precision"]
    assert data["mlgov"]["snapshot_sha256"] == sample_meta()["snapshot_sha256"]
    assert data["mlgov"]["audit_chain_head"]["sequence"] == 415
    index = data["model-index"]
    assert index[0]["name"] == "failed-delivery-predictor"
    results = {
        (r["dataset"]["type"], m["type"]): m["value"]
        for r in index[0]["results"]
        for m in r["metrics"]
    }
    assert results[("mlgov/production-monitoring", "auc")] == 0.86
    assert results[("deliveries-2026q1-holdout", "auc")] == 0.87
    assert card.data.eval_results[0].task_type == "tabular-classification"
    assert data["pipeline_tag"] == "tabular-classification"


def test_its_body_mirrors_the_card():
    text = to_markdown(sample_snapshot(), sample_meta())

    for heading in (
        "# Model card: Failed-delivery predictor",
        "## Purpose and intended use",
        "## Out-of-scope uses",
        "## Owners and roles",
        "## Risk",
        "## Versions",
        "## Metrics against signed thresholds",
        "## Every metric observed in the last 90 days",
        "## Drift",
        "## Approvals",
        "## Incidents",
        "## Limitations",
        "## Ethical considerations",
        "## Regulatory coverage",
        "## Generation metadata",
    ):
        assert f"\n{heading}\n" in text, heading
    assert "`5d41402abc4b2a76b9719d911017c592ae1f7d2a6c0e1b3f4a5d6c7e8f9a0b1c`" in text
    assert "`8c3e1f0a9b7d5c3e1f0a9b7d5c3e1f0a9b7d5c3e`" in text
    assert "| auc | all | all | 0.86 |" in text
    assert "Completeness: 29 of 29 items present (100 %)" in text
    assert "INC-2026-0007" in text
    # How each decision was signed: a password, or a re-authentication at the provider.
    assert "| Signed | Signature | Meaning |" in text
    label = "re-authenticated at https://login.bank.example (auth_time 2026-05-04T14:04:51Z)"
    assert escape(label) in text
    assert "password re-entered" in text


def test_a_bare_model_shows_what_is_missing():
    text = to_markdown(minimal_snapshot(), sample_meta())

    assert "_— no versions recorded_" in text
    assert "| Purpose and intended use | **missing** |" in text


def test_hostile_text_is_rendered_inert():
    text = to_markdown(sample_snapshot(), sample_meta())
    body = _body(text)
    rendered = _html(text)

    for needle in ("<script", "<img", "![", "](file:", "](http", "<b>"):
        assert needle not in text, needle
    _assert_inert(rendered)
    # Autolink triggers are broken outside code spans.
    plain = re.sub(r"`[^`]*`", "", body)
    assert not re.search(r"[A-Za-z0-9]://|www\.", plain)
    # The text is still there, shown literally.
    assert "&lt;script&gt;alert('card')&lt;/script&gt;" in rendered
    assert "![pixel](http://example.invalid/pixel.png)" in rendered
    assert "[click me](file:///etc/passwd)" in rendered


@pytest.mark.parametrize("payload", (*sample.HOSTILE, "www.example.invalid", "<!-- x -->"))
def test_hostile_text_in_names_titles_and_cells_is_inert(payload):
    snapshot = sample_snapshot()
    snapshot["model"]["name"] = payload
    snapshot["approvals"][0]["title"] = payload
    snapshot["incidents"][0]["root_cause"] = f"1. {payload}\n\n    {payload}\n> {payload}"
    snapshot["production_version"]["datasets"][0]["uri"] = payload
    snapshot["findings"][0]["description"] = f"| {payload} |"

    _assert_inert(_html(to_markdown(snapshot, sample_meta())))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2.1.0", "2.1.0"),
        ("1. not a list", r"1\. not a list"),
        ("- not a bullet", r"\- not a bullet"),
        ("# not a heading", r"\# not a heading"),
        ("a|b", r"a\|b"),
        ("    not code", "not code"),
        ("2026-11-24T10:15:00Z", "2026-11-24T10:15:00Z"),
        ("&lt;", "&amp;lt;"),
    ],
)
def test_escape_neutralises_markdown_structure(text, expected):
    assert escape(text) == expected


def test_it_lists_a_dataset_both_trained_and_evaluated_on_once():
    snapshot = sample_snapshot()
    version = snapshot["production_version"]
    train = next(d for d in version["datasets"] if d["role"] == "trained_on")
    version["datasets"].append({**train, "role": "evaluated_on", "role_label": "Evaluated on"})

    text = to_markdown(snapshot, sample_meta())
    data = ModelCard(text).data.to_dict()

    assert data["datasets"] == ["deliveries-2025h2", "deliveries-2026q1-holdout"]
    # The body's data table too: one row, both roles.
    data_table = _section(text, "### Training and evaluation data")
    rows = [line for line in data_table.splitlines() if train["name"] in line]
    assert len(rows) == 1, rows
    assert rows[0].startswith("| Trained on, Evaluated on |")


@pytest.mark.parametrize(
    ("model_type", "algorithm", "inputs", "task"),
    [
        (
            "classification",
            "Gradient-boosted trees (XGBoost)",
            "Postcode, parcel size.",
            "tabular-classification",
        ),
        ("classification", "Fine-tuned BERT", "Customer e-mails", "text-classification"),
        ("classification", "ResNet-50", "Photos of damaged parcels", "image-classification"),
        ("regression", "Linear regression", "Income, debt.", "tabular-regression"),
        ("forecasting", "Prophet", "Daily parcel volumes", "time-series-forecasting"),
        ("regression", "LSTM over the time series of volumes", "", "time-series-forecasting"),
        ("anomaly_detection", "Isolation forest", "Card transactions", "tabular-classification"),
        ("ranking", "LambdaMART", "Customer and offer features", "tabular-regression"),
        ("ranking", "Cross-encoder", "Query and document text", "text-ranking"),
        ("nlp", "Transformer", "Complaint text", "text-classification"),
        ("nlp", "Transformer summarising complaints", "Complaint text", "summarization"),
        ("nlp", "Named-entity recogniser", "Contracts", "token-classification"),
        ("vision", "YOLOv8 detector", "Depot camera frames", "object-detection"),
        ("vision", "CNN", "Parcel photos", "image-classification"),
        ("generative", "LLM", "Customer question", "text-generation"),
        ("other", "Rules", "", "other"),
        ("", "", "", "other"),
    ],
)
def test_its_task_is_a_hub_task_id_mapped_from_the_type_and_algorithm(
    model_type, algorithm, inputs, task
):
    model = {"model_type": model_type, "algorithm": algorithm, "inputs": inputs, "outputs": ""}
    assert hub_task(model) == task
    assert task in HUB_TASKS

    snapshot = sample_snapshot()
    snapshot["model"].update(model)
    data = ModelCard(to_markdown(snapshot, sample_meta())).data.to_dict()
    assert data["pipeline_tag"] == task
    assert {r["task"]["type"] for r in data["model-index"][0]["results"]} == {task}


def test_every_task_it_can_write_is_one_the_hub_lists():
    """The Hub's task ids (huggingface.co/tasks), as the Hub spells them."""
    hub = {
        "tabular-classification", "tabular-regression", "time-series-forecasting",
        "text-classification", "token-classification", "question-answering", "summarization",
        "translation", "text-generation", "text-ranking", "image-classification",
        "object-detection", "image-segmentation", "text-to-image", "other",
    }  # fmt: skip
    assert hub >= HUB_TASKS
    assert all(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", task) for task in HUB_TASKS)


def _section(text: str, heading: str) -> str:
    start = text.index(f"\n{heading}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else None]


def test_its_body_lists_every_metric_with_data_not_only_the_thresholded_ones():
    text = to_markdown(sample_snapshot(), sample_meta())

    observed = _section(text, "## Every metric observed in the last 90 days")
    rows = [line for line in observed.splitlines() if line.startswith("| ") and "---" not in line]
    cells = [[c.strip() for c in row.strip("|").split("|")] for row in rows[1:]]
    # A row per metric and version, the latest daily mean, whether a threshold watches it.
    assert [(c[0], c[3], c[4], c[6], c[7]) for c in cells] == [
        ("auc", "2.0.0", "0.842", "3", "yes"),
        ("auc", "2.1.0", "0.86", "6", "yes"),
        ("precision", "2.1.0", "0.42", "6", "no"),
    ]
    assert "drift.share" not in observed  # the Drift section reports drift runs


def test_a_model_without_data_says_no_metric_was_recorded():
    text = to_markdown(minimal_snapshot(), sample_meta())

    assert "_— no metric recorded in the last 90 days_" in text


def test_the_period_it_names_is_the_snapshots():
    from apps.reports.formats.markdown import OBSERVED_DAYS
    from apps.reports.snapshot.metrics import SERIES_DAYS

    assert OBSERVED_DAYS == SERIES_DAYS


def test_the_change_history_names_actions_objects_and_fields_for_people():
    text = to_markdown(sample_snapshot(), sample_meta())
    history = text[text.index("## Change history") :]
    history = history[: history.index("\n## ", 1)] if "\n## " in history[1:] else history
    assert "| Updated | Model version\\: failed-delivery-predictor 2.1.0 |" in history
    for internal in ("inventory.modelversion", "incidents.incident", "| update |"):
        assert internal not in history
