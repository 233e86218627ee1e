"""apps.reports.cards: the model card as PDF/A-3b (rendered once per module) and as
standalone HTML, from the hand-written sample snapshot."""

from __future__ import annotations

import re

import pytest

from apps.reports import cards, pdf
from apps.reports.formats.jsonexport import card_json_bytes
from tests.reports import sample
from tests.reports.test_pdf import (
    embedded_files,
    needs_poppler,
    pdf_objects,
    pdf_pages,
    xmp_metadata,
)

SAMPLE = sample.sample_snapshot()
META = sample.sample_meta()
VERSION = SAMPLE["production_version"]


@pytest.fixture(scope="module")
def card():
    """The sample card's PDF, and every URL the renderer's fetcher was asked for."""
    asked = []
    fetcher = pdf.fetcher()
    original = fetcher.fetch

    def spy(url, headers=None):
        asked.append(url)
        return original(url, headers)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(fetcher, "fetch", spy)
        data = cards.card_pdf(sample.sample_snapshot(), sample.sample_meta())
    return data, asked


@pytest.fixture(scope="module")
def pages(card, tmp_path_factory):
    return pdf_pages(card[0], tmp_path_factory.mktemp("card"))


@pytest.fixture(scope="module")
def text(pages):
    return "\n".join(pages)


@pytest.fixture(scope="module")
def html():
    return cards.card_html(sample.sample_snapshot(), sample.sample_meta(), for_pdf=False)


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text)


@needs_poppler
def test_it_prints_the_key_fields_of_the_record(text):
    model = SAMPLE["model"]
    for field in (
        model["name"],
        model["slug"],
        model["risk"]["tier_label"],
        model["eu_ai_act"]["class_label"],
        VERSION["version"],
        VERSION["artifact_sha256"],
        VERSION["code_commit"],
        sample.TRAIN_DATASET["content_hash"],
        "Bea Business",
        "Victor Validator",
        "INC-2026-0007",
        META["snapshot_sha256"],
        META["audit_chain_head"]["hash"],
        META["generator"],
        "Audrey Auditor",
    ):
        assert field in text, field


@needs_poppler
def test_it_has_a_title_page_without_running_header_and_a_footer_on_every_page(pages):
    count = len(pages)
    assert count >= 5
    assert "MODEL CARD" in pages[0] and SAMPLE["model"]["name"] in pages[0]
    assert "As of 2026-11-24 10:15 UTC" not in pages[0]
    for number, page in enumerate(pages, start=1):
        assert f"Page {number} of {count}" in page
        assert "snapshot SHA-256 e3b0c44298fc1c14" in page
        if number > 1:
            assert "Model card · Failed-delivery predictor" in page
            assert "As of 2026-11-24 10:15 UTC" in page


@needs_poppler
def test_its_table_of_contents_gives_the_page_of_each_section(pages):
    toc = _one_line(pages[1])
    assert "Contents" in toc
    for index, (_, title) in enumerate(cards.SECTIONS, start=1):
        entry = re.search(rf"{index}\. {re.escape(title)}[ .]*?(\d+)\b", toc)
        assert entry, title
        page = int(entry.group(1))
        assert f"{index}. {title}" in _one_line(pages[page - 1]), (title, page)


@needs_poppler
def test_it_lists_every_approval_once_with_its_decisions(text):
    flat = _one_line(text)
    start = flat.index("14. Approvals and signed decisions Newest first")
    approvals = flat[start : flat.index("15. Incidents", start)]
    for approval in SAMPLE["approvals"]:
        assert approvals.count(approval["title"]) == 1
        for decision in approval["decisions"]:
            assert decision["approver"]["name"] in approvals
            assert decision["meaning"] in approvals
    assert approvals.count(": Approve “") == 4
    assert approvals.count("Signed 2026-") == 4
    assert sample.PROMOTION_DIGEST in approvals.replace(" ", "")
    # Nowhere else: the card holds each section once.
    assert flat.count(": Approve “") == 4


@needs_poppler
def test_it_ends_with_a_blank_sign_off_block_for_the_reviewer(pages):
    last = _one_line(pages[-1])
    assert "21. Review of this card" in last
    for field in ("Reviewer (name)", "Role", "Conclusion", "Date", "Signature"):
        assert field in last
    assert "Accepted with findings" in last and "Not accepted" in last
    # Nothing after the blank signature line but the running footer.
    assert last[last.index("Signature") + len("Signature") :].strip().startswith("mlgov")


@needs_poppler
def test_it_shows_metrics_against_thresholds_with_charts_and_drift(text):
    flat = _one_line(text)
    assert "precision_at_10" in flat and "Warning" in flat and "Insufficient data" in flat
    assert "warning 0.8, critical 0.75" in flat
    assert "No observations in the 90 days" in flat  # brier has no series
    assert "parcel_weight_kg" in flat and "1 of 4 columns drifted" in flat
    assert "Time (UTC)" in flat  # the SVG charts' axis, drawn as text


@needs_poppler
def test_it_lists_the_regulatory_coverage(text):
    from apps.reports.coverage import coverage

    report = coverage(SAMPLE)
    flat = _one_line(text)
    assert f"{report['present']} of {report['total']} items present" in flat
    for name in ("SR 26-2", "EU AI Act", "NIST AI RMF", "ISO/IEC 42001"):
        assert name in flat


def test_it_declares_pdf_a_3b(card):
    xmp = xmp_metadata(card[0])
    assert re.search(r'pdfaid:part="3"|<pdfaid:part>3</pdfaid:part>', xmp)
    assert re.search(r'pdfaid:conformance="B"|<pdfaid:conformance>B</pdfaid:conformance>', xmp)
    assert "Model card: Failed-delivery predictor" in xmp


def test_its_attachment_is_the_json_export(card):
    [(dictionary, body)] = embedded_files(card[0])
    assert body == card_json_bytes(SAMPLE, META)
    assert b"/Subtype /application#2fjson" in dictionary
    assert b"(model-card.json)" in pdf_objects(card[0])


def test_rendering_it_fetches_nothing_but_static_files(card):
    _, asked = card
    assert all(pdf.static_name(url) for url in asked), asked


@needs_poppler
def test_hostile_user_text_is_printed_as_text_and_fetches_nothing(text):
    flat = _one_line(text)
    assert "<script>alert('card')</script>" in flat
    assert "Do not open file:///etc/passwd" in flat
    assert '<img src="http://example.invalid/x.png">' in flat
    assert "root:x:0:0" not in flat


def test_the_browser_html_is_standalone_and_escapes_user_text(html):
    assert html.startswith("<!DOCTYPE html>")
    assert "@page" in html and "<style" in html
    assert "<link" not in html
    assert not re.search(r"""src=["']?(https?:|file:|//|data:)""", html)
    # Outward links (a web endpoint the record names) are links only, never resources, and
    # only through the user-link helper: http(s), without opener or referrer.
    for tag in re.findall(r"""<[a-z]+[^>]*\bhref=["']?(?:https?:|file:|//|data:)[^>]*>""", html):
        assert tag.startswith("<a ") and 'rel="noopener noreferrer nofollow"' in tag, tag
        assert 'href="http' in tag, tag
    assert not re.search(r"url\(\s*['\"]?(https?:|file:|data:)", html)
    assert "<script" not in html
    assert "&lt;script&gt;alert(&#x27;card&#x27;)&lt;/script&gt;" in html
    assert "&lt;img src=&quot;http://example.invalid/x.png&quot;&gt;" in html


def test_the_browser_html_holds_the_charts_and_the_table_of_contents(html):
    # auc (two versions, with bands), precision (observed, no threshold), precision_at_10
    # (a segment's thresholded series) and drift.share; brier has a threshold but no data.
    assert html.count('class="metric-chart"') == 4
    assert html.count('class="drift-bar"') == 4
    for anchor, _ in cards.SECTIONS:
        assert f'href="#{anchor}"' in html
        assert f'id="{anchor}"' in html


def test_multi_line_user_text_keeps_its_lines_after_escaping():
    snapshot = sample.sample_snapshot()
    snapshot["model"]["limitations"] = "First <b>line</b>\nSecond line"
    page = cards.card_html(snapshot, sample.sample_meta(), for_pdf=True)
    assert "First &lt;b&gt;line&lt;/b&gt;<br>Second line" in page


def test_the_pdf_html_leaves_the_stylesheets_to_the_renderer():
    page = cards.card_html(SAMPLE, META, for_pdf=True)
    assert "<style" not in page and "<link" not in page
    assert 'class="running"' in page


@needs_poppler
def test_a_bare_model_renders_with_its_gaps_stated(tmp_path):
    data = cards.card_pdf(sample.minimal_snapshot(), sample.sample_meta())
    flat = _one_line("\n".join(pdf_pages(data, tmp_path)))
    assert "Bare model" in flat
    assert "No version was in production" in flat
    assert "No signed-off thresholds were active" in flat
    assert "No approvals had been requested" in flat
    assert "Not assessed" in flat


def test_times_are_shown_in_utc_and_numbers_without_float_noise():
    assert cards.display_time("2026-11-24T10:15:00Z") == "2026-11-24 10:15 UTC"
    assert cards.display_time("2026-11-24") == "2026-11-24"
    assert cards.display_time("see 2026-11-24T10:15:00Z") == "see 2026-11-24T10:15:00Z"
    assert cards.display_number(0.1 + 0.2) == "0.3"
    assert cards.display_number(400) == "400"


# --- governance first, every metric, lineage, organisation ------------------------------------


@needs_poppler
def test_its_history_lists_governance_changes_and_counts_automated_activity(text):
    flat = _one_line(text)
    # The sections' headings (the last of each title: the first is in the contents).
    history = flat[flat.rindex("18. Change history") : flat.rindex("19. Regulatory coverage")]
    for change in SAMPLE["changes"]:
        assert f"#{change['sequence']} " in history
    assert "Automated activity, counted (206 events" in history
    assert "Metric ingestion batches 90 180 2026-08-26 06:00 UTC – 2026-11-23 06:00 UTC" in history
    assert "Drift runs 13 26 2026-08-30 02:00 UTC – 2026-11-22 02:00 UTC" in history


def test_its_history_names_actions_objects_and_fields_as_people_read_them(html):
    history = html[html.index('id="changes"') : html.index('id="coverage"')]
    # The sample's "update" of inventory.modelversion with stage, approved_at, approved_by.
    assert "Updated · Model version “failed-delivery-predictor 2.1.0”" in history
    assert "Created · Incident “INC-2026-0007”" in history
    for internal in ("inventory.modelversion", "incidents.incident", "approved_at", " update "):
        assert internal not in history


def test_it_charts_every_observed_metric_with_bands_where_a_threshold_watches_it():
    performance, drift = cards._metric_charts(SAMPLE, cards.parse_time(SAMPLE["as_of"]))

    shown = [(c["metric"], c["scope"], c["chart"] is not None) for c in performance]
    # Thresholded first (auc over both versions, brier without data, the segment's
    # precision_at_10), then precision, which no threshold watches.
    assert shown == [
        ("auc", "all segments, version 2.0.0, version 2.1.0", True),
        ("brier", "all versions", False),
        ("precision_at_10", "version 2.1.0, region=north", True),
        ("precision", "all segments, version 2.1.0", True),
    ]
    auc = performance[0]["chart"]
    assert performance[0]["threshold"]["id"] == 11 and auc.bands
    assert [line["label"] for line in auc.lines] == ["version 2.0.0", "version 2.1.0"]
    assert not performance[3]["chart"].bands and performance[3]["threshold"] is None
    assert [c["metric"] for c in drift] == ["drift.share"]


@needs_poppler
def test_the_pdf_shows_a_metric_no_threshold_watches(text):
    flat = _one_line(text)
    assert "precision · all segments, version 2.1.0" in flat
    assert "No signed-off threshold watches this metric." in flat


def test_its_lineage_draws_data_versions_deployments_and_consumers_with_unfilled_edges(html):
    lineage = cards._lineage(SAMPLE)
    labels = {n["kind"]: [] for n in lineage["nodes"]}
    for node in lineage["nodes"]:
        labels[node["kind"]].append(node["label"])
    assert labels["dataset"] == [sample.TRAIN_DATASET["name"], sample.EVAL_DATASET["name"]]
    assert "Failed-delivery predictor 2.1.0" in labels["production"]
    assert labels["deployment"] and labels["consumer"]
    assert "Courier capacity forecast" in labels["model"]
    kinds = {e["kind"] for e in lineage["edges"]}
    assert {"trained on", "evaluated on", "deployed as", "feeds"} <= kinds

    svg = html[html.index('<svg class="card-lineage"') :]
    svg = svg[: svg.index("</svg>")]
    paths = re.findall(r"<path d=\"M\d[^\"]+\"[^>]*>", svg)
    assert len(paths) == len(lineage["edges"])
    assert all('fill="none"' in p and 'stroke="#6b7787"' in p for p in paths)
    assert "style=" not in svg


def test_lineage_labels_wrap_instead_of_being_clipped():
    snapshot = sample.sample_snapshot()
    snapshot["model"]["name"] = "Failed-delivery predictor for rural and urban routes"
    lineage = cards._lineage(snapshot)
    node = next(n for n in lineage["nodes"] if n["kind"] == "production")
    words = " ".join(line["text"] for line in node["lines"])
    assert words == "Failed-delivery predictor for rural and urban routes 2.1.0"
    assert all(len(line["text"]) <= cards.LINEAGE_LABEL_CHARS for line in node["lines"])
    assert "…" not in words


def test_the_cover_names_the_organisation_when_one_is_set(settings):
    settings.MLGOV_ORGANISATION_NAME = "Northwind <Parcel> Services"
    page = cards.card_html(sample.sample_snapshot(), sample.sample_meta(), for_pdf=False)
    start = page.index('<section class="cover" id="cover">')
    cover = page[start : page.index("</section>", start)]
    assert '<p class="cover-organisation">Northwind &lt;Parcel&gt; Services</p>' in cover

    settings.MLGOV_ORGANISATION_NAME = ""
    page = cards.card_html(sample.sample_snapshot(), sample.sample_meta(), for_pdf=False)
    assert 'class="cover-organisation"' not in page


def test_headings_are_kept_with_what_follows_them():
    css = cards.stylesheet_text(cards.CARD_CSS)
    rule = css[css.index("h2, h3, caption") :]
    assert rule.index("break-after: avoid") < rule.index("}")
