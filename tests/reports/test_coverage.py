"""Regulatory coverage table: present/missing per documentation item and the score."""

from __future__ import annotations

import re

from apps.reports.coverage import FRAMEWORKS, ITEMS, coverage
from tests.reports.sample import minimal_snapshot, sample_snapshot


def _present(snapshot: dict) -> dict[str, bool]:
    return {i["key"]: i["present"] for i in coverage(snapshot)["items"]}


def test_it_marks_every_item_present_for_a_complete_record():
    table = coverage(sample_snapshot())

    assert table["total"] == len(ITEMS)
    assert table["present"] == table["total"]
    assert table["score"] == 1.0


def test_it_marks_the_items_a_bare_model_lacks_as_missing():
    present = _present(minimal_snapshot())

    missing = {k for k, v in present.items() if not v}
    assert {
        "purpose",
        "intended_users",
        "out_of_scope",
        "owners",
        "risk_tier",
        "eu_ai_act_class",
        "training_data",
        "evaluation_data",
        "artifact",
        "versions",
        "performance_thresholds",
        "ongoing_monitoring",
        "drift",
        "validation",
        "approvals",
        "limitations",
        "ethics",
        "human_oversight",
        "change_history",
    } <= missing
    # The inventory record itself is there, and no incident is left undocumented.
    assert present["identity"] is True
    assert present["incidents"] is True


def test_it_scores_present_items_over_all_items():
    snapshot = sample_snapshot()
    snapshot["model"]["limitations"] = "   "
    snapshot["model"]["assumptions"] = ""

    table = coverage(snapshot)

    assert table["present"] == table["total"] - 2
    assert table["score"] == round((table["total"] - 2) / table["total"], 4)
    assert sum(i["present"] for i in table["items"]) == table["present"]
    minimal = coverage(minimal_snapshot())
    assert minimal["score"] == round(minimal["present"] / minimal["total"], 4)
    assert 0 < minimal["score"] < 0.2


def test_it_requires_a_signed_off_threshold():
    snapshot = sample_snapshot()
    for metric in snapshot["metrics"]:
        metric["threshold"]["signoff"] = None

    assert _present(snapshot)["performance_thresholds"] is False


def test_it_requires_an_annex_iii_point_for_a_high_risk_model():
    snapshot = sample_snapshot()
    snapshot["model"]["eu_ai_act"].update(
        {"class": "high_risk", "class_label": "High-risk (Annex III)", "annex_iii_point": ""}
    )
    assert _present(snapshot)["eu_ai_act_class"] is False

    snapshot["model"]["eu_ai_act"]["annex_iii_point"] = "5(b)"
    assert _present(snapshot)["eu_ai_act_class"] is True


def test_it_counts_a_serious_incident_without_reporting_deadline_as_missing():
    snapshot = sample_snapshot()
    snapshot["incidents"][0]["serious_category"] = "fundamental_rights"

    assert _present(snapshot)["incidents"] is False

    snapshot["incidents"][0]["reporting_deadline"] = "2026-12-05T08:00:00Z"
    assert _present(snapshot)["incidents"] is True


def test_it_needs_the_risk_assessor_as_well_as_the_tier():
    snapshot = sample_snapshot()
    snapshot["model"]["risk"]["assessed_by"] = None

    assert _present(snapshot)["risk_tier"] is False


def test_it_reads_data_from_the_newest_version_when_none_is_in_production():
    snapshot = sample_snapshot()
    snapshot["production_version"] = None
    snapshot["versions"][0]["datasets"] = []

    present = _present(snapshot)

    assert present["training_data"] is False
    assert present["artifact"] is True


def test_it_cites_all_four_frameworks_for_every_item():
    table = coverage(sample_snapshot())

    keys = [i["key"] for i in table["items"]]
    assert len(keys) == len(set(keys))
    for item in table["items"]:
        assert tuple(item["sources"]) == FRAMEWORKS
        assert all(isinstance(v, str) and v.strip() for v in item["sources"].values())


def test_it_cites_sr_26_2_by_topic_and_the_ai_act_only_by_known_articles():
    articles = set()
    for item in ITEMS:
        assert not re.search(r"\d|§|section", item.sr_26_2, re.IGNORECASE), item.key
        articles |= {int(n) for n in re.findall(r"Art\. (\d+)", item.eu_ai_act)}
        annex = re.findall(r"Annex IV (\d+)", item.eu_ai_act)
        assert all(1 <= int(point) <= 9 for point in annex), item.key
        assert re.fullmatch(r"A\.\d+(\.\d+)*(; A\.\d+(\.\d+)*)*", item.iso_42001), item.key
        assert re.fullmatch(
            r"(GOVERN|MAP|MEASURE|MANAGE) \d+\.\d+(; (GOVERN|MAP|MEASURE|MANAGE) \d+\.\d+)*",
            item.nist_ai_rmf,
        ), item.key
    assert articles <= {6, 9, 10, 11, 12, 13, 14, 15, 17, 72, 73}
    assert {9, 10, 11, 12, 13, 14, 15, 72, 73} <= articles


def test_periodic_review_is_present_with_a_next_review_date_and_findings_but_no_review():
    """A validated model with its next review scheduled and findings raised has its periodic
    review documented, although no periodic review has been carried out yet."""
    snapshot = sample_snapshot()
    snapshot["reviews"] = []
    assert snapshot["findings"] and snapshot["model"]["next_review_date"]

    assert _present(snapshot)["periodic_review"] is True


def test_periodic_review_needs_a_next_review_date():
    snapshot = sample_snapshot()
    snapshot["model"]["next_review_date"] = None

    assert _present(snapshot)["periodic_review"] is False


def test_periodic_review_needs_review_work_besides_the_date():
    snapshot = sample_snapshot()
    snapshot["findings"] = []
    for review in snapshot["reviews"]:
        review["status"] = "open"
    assert _present(snapshot)["periodic_review"] is False

    snapshot["reviews"][0]["status"] = "attested"
    assert _present(snapshot)["periodic_review"] is True
