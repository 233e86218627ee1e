"""mlgov's complete JSON export of the model card."""

from __future__ import annotations

import json

from apps.reports.coverage import coverage
from apps.reports.formats.jsonexport import card_document, card_json_bytes
from tests.reports.sample import sample_meta, sample_snapshot


def test_it_holds_meta_snapshot_and_coverage():
    snapshot, meta = sample_snapshot(), sample_meta()

    doc = card_document(snapshot, meta)

    assert doc["mlgov_model_card"] == 1
    assert doc["meta"] == meta
    assert doc["snapshot"] == snapshot
    assert doc["coverage"] == coverage(snapshot)


def test_it_gives_the_same_bytes_for_the_same_card():
    first = card_json_bytes(sample_snapshot(), sample_meta())
    second = card_json_bytes(sample_snapshot(), sample_meta())

    assert first == second


def test_it_does_not_depend_on_key_order():
    snapshot = sample_snapshot()
    reordered = dict(reversed(list(snapshot.items())))
    reordered["model"] = dict(reversed(list(snapshot["model"].items())))

    assert list(reordered) != list(snapshot)
    assert card_json_bytes(reordered, sample_meta()) == card_json_bytes(snapshot, sample_meta())


def test_it_writes_indented_sorted_utf8_json_that_reads_back():
    data = card_json_bytes(sample_snapshot(), sample_meta())

    text = data.decode("utf-8")
    assert text.startswith('{\n  "coverage": {')
    assert "0–1" in text  # not escaped to \u2013
    assert json.loads(data) == card_document(sample_snapshot(), sample_meta())


def test_it_changes_when_the_record_changes():
    snapshot = sample_snapshot()
    before = card_json_bytes(snapshot, sample_meta())
    snapshot["model"]["risk"]["tier"] = 1

    assert card_json_bytes(snapshot, sample_meta()) != before
