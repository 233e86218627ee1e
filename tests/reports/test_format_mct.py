"""Model Card Toolkit v0.0.2 export and its schema validation."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from apps.reports.formats.mct import PROPRIETARY, SCHEMA_PATH, mct_errors, mct_json_bytes, to_mct
from tests.reports.sample import minimal_snapshot, sample_meta, sample_snapshot


def test_the_vendored_schema_equals_the_one_shipped_with_model_card_toolkit():
    spec = importlib.util.find_spec("model_card_toolkit")
    assert spec is not None and spec.submodule_search_locations
    shipped = (
        Path(spec.submodule_search_locations[0]) / "schema" / "v0.0.2" / "model_card.schema.json"
    )

    assert SCHEMA_PATH.read_bytes() == shipped.read_bytes()


def test_it_validates_for_a_complete_record():
    doc = to_mct(sample_snapshot(), sample_meta())

    assert doc["schema_version"] == "0.0.2"
    assert mct_errors(doc) == []


def test_it_validates_for_a_bare_model():
    doc = to_mct(minimal_snapshot(), sample_meta())

    assert mct_errors(doc) == []
    assert doc["model_details"]["name"] == "Bare model"
    assert "version" not in doc["model_details"]
    assert "considerations" not in doc


def test_it_names_the_json_path_of_each_error():
    doc = to_mct(sample_snapshot(), sample_meta())
    doc["model_details"]["version"]["date"] = "4 May 2026"
    doc["quantitative_analysis"]["performance_metrics"][1]["value"] = 0.58
    doc["model_details"]["licenses"] = [{}]
    doc["unexpected"] = True

    errors = mct_errors(doc)

    assert len(errors) == 4
    assert any(e.startswith("$.model_details.version.date: ") and "date" in e for e in errors)
    assert any(
        e.startswith("$.quantitative_analysis.performance_metrics[1].value: ")
        and "not of type 'string'" in e
        for e in errors
    )
    assert any(e.startswith("$.model_details.licenses[0]: ") for e in errors)
    assert any(e.startswith("$: ") and "unexpected" in e for e in errors)


def test_it_maps_the_production_version_and_its_data():
    doc = to_mct(sample_snapshot(), sample_meta())

    details = doc["model_details"]
    assert details["version"] == {
        "name": "2.1.0",
        "date": "2026-05-04",
        "diff": sample_snapshot()["production_version"]["description"],
    }
    assert details["path"] == "s3://mlgov-models/failed-delivery/2.1.0/model.pkl"
    assert details["licenses"] == [{"custom_text": PROPRIETARY}]
    data = doc["model_parameters"]["data"]
    assert [d["name"] for d in data] == ["Deliveries 2025 H2", "Deliveries 2026 Q1 hold-out"]
    assert data[0]["sensitive"] == {"sensitive_data": ["Contains personal data"]}
    assert "sensitive" not in data[1]
    assert "3f1c0a8e5b7d" in data[0]["description"]


def test_it_writes_metric_values_as_strings_with_segment_slices():
    metrics = to_mct(sample_snapshot(), sample_meta())["quantitative_analysis"][
        "performance_metrics"
    ]

    assert {"type": "auc", "value": "0.86"} in metrics
    assert {"type": "precision_at_10", "value": "0.58", "slice": "region=north; version 2.1.0"} in (
        metrics
    )
    assert all(isinstance(m.get("value", ""), str) for m in metrics)


def test_it_states_signed_thresholds_as_tradeoffs():
    tradeoffs = to_mct(sample_snapshot(), sample_meta())["considerations"]["tradeoffs"]

    texts = [t["description"] for t in tradeoffs]
    assert len(texts) == 3
    assert "warning below 0.8, critical below 0.75" in texts[0]
    assert "Bea Business, Victor Validator" in texts[0]
    assert "Not signed off" in texts[2]


def test_it_links_only_storage_locations():
    snapshot = sample_snapshot()
    snapshot["production_version"]["datasets"][0]["uri"] = "file:///etc/passwd"
    snapshot["production_version"]["datasets"][1]["uri"] = "javascript:alert(1)"

    doc = to_mct(snapshot, sample_meta())

    data = doc["model_parameters"]["data"]
    assert all("link" not in d for d in data)
    assert "location file:///etc/passwd" in data[0]["description"]
    assert mct_errors(doc) == []


def test_it_serialises_deterministically():
    first = mct_json_bytes(sample_snapshot(), sample_meta())

    assert first == mct_json_bytes(sample_snapshot(), sample_meta())
    assert json.loads(first) == to_mct(sample_snapshot(), sample_meta())
