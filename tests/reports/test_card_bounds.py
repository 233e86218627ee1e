"""The model card grows with what it prints, not with every version or request ever made:
production, staging and the newest versions in full, the older ones counted per stage; the
newest and pending approvals with their decisions, the older ones counted per kind and
outcome (all of them stay in the attached JSON)."""

from __future__ import annotations

import copy

from apps.reports import cards
from apps.reports.formats.jsonexport import card_json_bytes
from tests.reports import sample
from tests.reports.test_pdf import needs_poppler, pdf_pages

META = sample.sample_meta()


def _history(versions: int, approvals: int, deployments: int = 0) -> dict:
    """The sample snapshot with ``versions`` versions (newest first: one in staging, the
    production one far down the list, the rest development or archived), ``approvals``
    requests (the oldest still pending) and ``deployments``."""
    snapshot = sample.sample_snapshot()
    template_version = snapshot["versions"][1]
    rows = []
    for n in range(versions, 0, -1):
        v = copy.deepcopy(template_version)
        v["version"] = f"9.{n}.0"
        v["stage"], v["stage_label"] = ("development", "Development")
        v["approved_at"] = None
        if n % 2:
            v["stage"], v["stage_label"] = ("archived", "Archived")
            v["approved_at"] = f"2024-01-{n % 28 + 1:02d}T10:00:00Z"
        v["created_at"] = f"20{10 + n // 100:02d}-{n % 12 + 1:02d}-01T10:00:00Z"
        rows.append(v)
    rows[versions - 3]["stage"], rows[versions - 3]["stage_label"] = ("production", "Production")
    rows[0]["stage"], rows[0]["stage_label"] = ("staging", "Staging")
    snapshot["versions"] = rows
    template_request = snapshot["approvals"][0]
    requests = []
    for n in range(approvals, 0, -1):
        a = copy.deepcopy(template_request)
        a["id"], a["title"] = n, f"Request number {n}"
        a["status"], a["status_label"] = ("approved", "Approved")
        requests.append(a)
    requests[-1]["status"], requests[-1]["status_label"] = ("pending", "Pending")
    snapshot["approvals"] = requests
    template_deployment = snapshot["deployments"][0]
    snapshot["deployments"] = [
        {**template_deployment, "version": f"9.{n}.0"} for n in range(deployments, 0, -1)
    ]
    return snapshot


def test_it_prints_current_and_recent_versions_and_counts_the_rest():
    snapshot = _history(versions=60, approvals=3)
    context = cards.card_context(snapshot, META, for_pdf=False)
    printed = [v["version"] for v in context["versions"]]
    newest = [f"9.{n}.0" for n in range(60, 50, -1)]
    assert printed == [*newest, "9.3.0"]  # the production version, however old, is printed
    assert context["older_versions_total"] == 49
    older = {row["stage_label"]: row for row in context["older_versions"]}
    assert set(older) == {"Development", "Archived"}
    assert older["Development"]["count"] + older["Archived"]["count"] == 49
    assert older["Archived"]["approved"] == older["Archived"]["count"]
    assert older["Development"]["approved"] == 0
    assert older["Archived"]["oldest"] == "9.1.0"
    html = cards.card_html(snapshot, META, for_pdf=False)
    assert "9.60.0" in html and "9.3.0" in html
    assert "<strong>9.40.0</strong>" not in html
    assert "The 49 older versions, by stage" in html
    # Nothing is lost: the attached JSON holds every version.
    assert b'"9.40.0"' in card_json_bytes(snapshot, META)


def test_it_prints_pending_and_recent_approvals_and_counts_the_rest():
    snapshot = _history(versions=2, approvals=45)
    approvals = cards.card_context(snapshot, META, for_pdf=False)["approvals"]
    shown = [a["id"] for a in approvals["shown"]]
    assert shown == [*range(45, 25, -1), 1]  # the newest 20 and the pending one
    assert approvals["older_total"] == 24
    assert approvals["older"] == [
        {"first": "Promotion to production", "second": "Approved", "count": 24}
    ]
    html = cards.card_html(snapshot, META, for_pdf=False)
    assert "Request number 45" in html and "Request number 1<" in html
    assert "Request number 20<" not in html
    assert "24 older requests" in html


def test_older_deployments_are_counted():
    snapshot = _history(versions=2, approvals=1, deployments=30)
    deployments = cards.card_context(snapshot, META, for_pdf=False)["deployments"]
    assert len(deployments["shown"]) == cards.DEPLOYMENTS_SHOWN
    assert deployments["older_total"] == 10


def test_a_short_history_is_printed_whole():
    snapshot = sample.sample_snapshot()
    context = cards.card_context(snapshot, META, for_pdf=False)
    assert len(context["versions"]) == len(snapshot["versions"])
    assert context["older_versions"] == [] and context["approvals"]["older_total"] == 0
    html = cards.card_html(snapshot, META, for_pdf=False)
    assert "older version" not in html and "older request" not in html


def test_the_card_does_not_grow_with_history():
    small = cards.card_html(_history(versions=12, approvals=21), META, for_pdf=True)
    large = cards.card_html(_history(versions=500, approvals=400), META, for_pdf=True)
    assert len(large) < len(small) * 1.05


@needs_poppler
def test_the_pdf_of_500_versions_is_as_long_as_a_short_history(tmp_path):
    small = cards.card_pdf(_history(versions=12, approvals=21), META)
    large = cards.card_pdf(_history(versions=500, approvals=400), META)
    # A page more at most: the summaries' rows are bounded by the stages, kinds and outcomes.
    assert len(pdf_pages(large, tmp_path)) <= len(pdf_pages(small, tmp_path)) + 1
