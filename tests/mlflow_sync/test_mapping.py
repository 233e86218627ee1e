"""How MLflow's registry maps onto the inventory (apps/mlflow_sync/mapping.py): pure."""

from __future__ import annotations

import pytest

from apps.inventory.choices import DatasetRole
from apps.mlflow_sync import mapping


def test_it_takes_models_by_name_patterns():
    patterns = mapping.parse_patterns("credit-*\n churn-model, ")
    assert patterns == ("credit-*", "churn-model")
    assert mapping.name_matches("credit-scorer", patterns)
    assert not mapping.name_matches("scratch", patterns)
    assert mapping.parse_patterns("") == ("*",)


def test_it_finds_the_serving_markers_a_version_carries():
    markers = mapping.parse_markers("alias:champion\nstage:Production\ntag:env=prod, tag:live")
    version = {
        "aliases": ["champion"],
        "current_stage": "production",
        "tags": [{"key": "env", "value": "prod"}, {"key": "other", "value": "x"}],
    }
    assert mapping.serving_markers(version, markers) == [
        "alias:champion",
        "stage:Production",
        "tag:env=prod",
    ]
    assert mapping.serving_markers({"tags": [{"key": "env", "value": "dev"}]}, markers) == []


@pytest.mark.parametrize("text", ["champion", "label:x", "alias:", "stage:Production=1"])
def test_it_refuses_a_malformed_marker_by_name(text):
    with pytest.raises(mapping.MappingError, match=r"serving marker|only tag markers"):
        mapping.parse_markers(text)


def test_a_discovered_model_never_takes_a_hand_registered_slug():
    slugs = mapping.slug_candidates("Fraud Scorer/v2")
    assert [next(slugs) for _ in range(3)] == [
        "fraud-scorer-v2",
        "fraud-scorer-v2-mlflow",
        "fraud-scorer-v2-mlflow-2",
    ]


def test_dataset_inputs_become_training_or_evaluation_data():
    evaluation = {"tags": [{"key": "mlflow.data.context", "value": "Evaluation"}]}
    assert mapping.dataset_role(evaluation) == DatasetRole.EVALUATED_ON
    assert mapping.dataset_role({"tags": []}) == DatasetRole.TRAINED_ON


def test_the_digest_changes_with_any_file_and_not_with_the_listing_order():
    files = [("MLmodel", 10, "a" * 64), ("model.pkl", 99, "b" * 64)]
    digest = mapping.manifest_digest(files)
    assert digest == mapping.manifest_digest(list(reversed(files)))
    assert digest != mapping.manifest_digest([files[0], ("model.pkl", 99, "c" * 64)])
    assert digest != mapping.manifest_digest([*files, ("extra.txt", 1, "d" * 64)])


def test_it_reads_the_signature_and_input_example_of_an_mlmodel_file():
    text = (
        b"flavors: {}\n"
        b"saved_input_example_info:\n  artifact_path: input_example.json\n  type: dataframe\n"
        b'signature:\n  inputs: \'[{"type": "double", "name": "income"}]\'\n'
        b"  outputs: null\n"
    )
    found = mapping.parse_mlmodel(text)
    assert found["signature"] == {"inputs": [{"type": "double", "name": "income"}]}
    assert found["input_example_path"] == "input_example.json"
    assert mapping.parse_mlmodel(b": not yaml: [") == {}


def test_run_metrics_keep_only_finite_numbers():
    run = {"data": {"metrics": [{"key": "auc", "value": 0.8}, {"key": "loss", "value": "NaN"}]}}
    assert mapping.metrics_of(run) == {"auc": 0.8}
