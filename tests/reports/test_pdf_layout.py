"""Print-grade PDFs: each report is rendered from realistic data (long names, enough rows for
several pages) and read back as positioned text by ``tests.reports.pdf_layout``, which must
find nothing wrong: no text outside the page or over other text, no page with only a heading,
no table page without its header row. The checker itself is shown to catch each fault on
small hand-made documents.

Set ``MLGOV_PDF_LAYOUT_DIR`` to a folder to keep the rendered PDFs for a look.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
from pathlib import Path

import pytest
from django.db import transaction
from django.utils import timezone

from apps.audit.services import audit_record
from apps.inventory.models import ModelDependency, VersionDataset
from apps.reports import audit_extract, cards, register
from apps.reports.formats.lineage_report import lineage_pdf
from apps.reports.lineage import lineage_document
from apps.reports.pdf import render_pdf
from tests.factories import (
    BusinessUnitFactory,
    DatasetFactory,
    DeploymentFactory,
    ModelVersionFactory,
    RegisteredModelFactory,
    UserFactory,
)
from tests.reports import pdf_layout, sample
from tests.reports.pdf_layout import check_pdf, describe

LINEAGE_TABLES = (
    ("Version", "Stage", "Artifact SHA-256", "Artifact URI", "Code commit", "Registered"),
    ("Dataset", "Use", "Version", "Owner", "Content SHA-256", "URI", "Personal data"),
    ("Environment", "Endpoint", "Version", "Status", "Deployed", "Consumers", "Artifact SHA-256"),
)
EXTRACT_TABLES = (("Seq.", "Time (UTC)", "Actor", "Action", "Object", "Changes", "Hash"),)
REGISTER_TABLES = (
    (
        "Model",
        "Business unit",
        "Owner",
        "Business owner",
        "Validator",
        "Risk tier",
        "EU AI Act",
        "Status",
        "In production",
        "Open incidents",
        "Open findings",
        "Next review",
    ),
)


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _pages(data: bytes) -> int:
    return len(pdf_layout.read_pages(data))


def _keep(name: str, data: bytes) -> None:
    folder = os.environ.get("MLGOV_PDF_LAYOUT_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        (Path(folder) / name).write_bytes(data)


# --- realistic data --------------------------------------------------------------------------


def _person(username: str, first: str, last: str):
    return UserFactory(username=username, first_name=first, last_name=last)


@pytest.fixture
def people(db):
    return {
        "owner": _person("maximilian.hohenberg-schwarzenfeld", "Maximilian", "Hohenberg"),
        "business": _person("bea.business-continuity", "Beatrix", "Okonkwo-Lindqvist"),
        "validator": _person("valentina.rossi-validation", "Valentina", "Rossi"),
        "data": _person("dora.data-stewardship", "Dora", "Data-Steward"),
        "dev": _person("dana.developer-platform-team", "Dana", "Developer"),
    }


@pytest.fixture
def delivery_model(people):
    """The failed-delivery predictor: fourteen versions (trained on two datasets, evaluated on
    a third), five deployments with long endpoints and consumer lists, one upstream and two
    downstream models."""
    unit = BusinessUnitFactory(name="Last-mile Logistics and Parcel Operations (EU hubs)")
    model = RegisteredModelFactory(
        slug="failed-delivery-predictor",
        name="Failed-delivery predictor for next-day parcel routing",
        business_unit=unit,
        owner=people["owner"],
        business_owner=people["business"],
        validator=people["validator"],
        risk_tier=1,
        status="production",
    )
    datasets = [
        DatasetFactory(
            slug=f"parcel-scans-{year}",
            name=f"Parcel scan events and courier outcomes, all EU hubs, {year}",
            version=f"{year}-12-31-final",
            uri=f"s3://mlgov-data/logistics/parcel-scans/year={year}/part-*.parquet",
            content_hash=_sha(f"scans {year}"),
            owner=people["data"],
            contains_personal_data=True,
        )
        for year in (2023, 2024, 2025)
    ]
    versions = []
    for index in range(14):
        stage = "production" if index == 13 else ("staging" if index == 12 else "archived")
        version = ModelVersionFactory(
            model=model,
            version=f"2.{index}.0-rc{index % 3}",
            stage=stage,
            artifact_uri=(
                f"s3://mlgov-models/failed-delivery-predictor/2.{index}.0/model-artifact.onnx"
            ),
            artifact_sha256=_sha(f"artifact {index}"),
            code_commit=_sha(f"commit {index}")[:40],
            created_by=people["dev"],
        )
        VersionDataset.objects.create(version=version, dataset=datasets[0], role="trained_on")
        VersionDataset.objects.create(version=version, dataset=datasets[1], role="trained_on")
        VersionDataset.objects.create(version=version, dataset=datasets[2], role="evaluated_on")
        versions.append(version)
    for index, environment in enumerate(
        ("production", "production", "staging", "shadow", "shadow")
    ):
        DeploymentFactory(
            version=versions[-1 - index],
            environment=environment,
            endpoint=(
                f"https://inference.eu-west-1.logistics.internal/v2/failed-delivery/"
                f"{environment}/hub-{index}/predict"
            ),
            consumers=(
                "Route planner (next-day waves), customer-service chatbot, driver app ETA "
                "banner, depot staffing forecast"
            ),
            status="active" if index < 3 else "inactive",
            deployed_at=dt.datetime(2026, 4, 1 + index, 6, 30, 15, tzinfo=dt.UTC),
            created_by=people["dev"],
        )
    upstream = RegisteredModelFactory(
        slug="address-quality-scorer",
        name="Address-quality scorer for parcel labels",
        owner=people["owner"],
    )
    ModelDependency.objects.create(upstream=upstream, downstream=model, created_by=people["owner"])
    for slug, name in (
        ("customer-contact-scheduler", "Customer contact scheduler for redelivery slots"),
        ("depot-staffing-forecaster", "Depot staffing forecaster"),
    ):
        downstream = RegisteredModelFactory(slug=slug, name=name, owner=people["owner"])
        ModelDependency.objects.create(
            upstream=model, downstream=downstream, created_by=people["owner"]
        )
    return model


# (object type, what it is, the changes of one event of it)
EVENT_KINDS = (
    (
        "monitoring.driftrun",
        "Drift run #{n} of failed-delivery-predictor (population stability, 14 features)",
        {
            "status": {"before": "running", "after": "succeeded"},
            "psi_max": {"before": None, "after": 0.231},
        },
    ),
    (
        "inventory.modelversion",
        "failed-delivery-predictor 2.{n}.0-rc1",
        {
            "stage": {"before": "staging", "after": "production"},
            "artifact_uri": {
                "before": None,
                "after": "s3://mlgov-models/failed-delivery-predictor/2.{n}.0/model-artifact.onnx",
            },
        },
    ),
    (
        "approvals.approvalrequest",
        "Promotion of failed-delivery-predictor 2.{n}.0-rc1 to production",
        {
            "status": {"before": "pending", "after": "approved"},
            "closed_at": {"before": None, "after": "2026-05-04T10:15:00.123456+00:00"},
        },
    ),
    (
        "monitoring.threshold",
        "Recall (segment: same-day premium parcels, EU-West hubs) ≥ 0.80 warning / 0.72 critical",
        {
            "warning": {"before": 0.78, "after": 0.8},
            "rationale": {
                "before": "",
                "after": (
                    "Agreed with Last-mile Operations after the Q1 review: a missed failed "
                    "delivery costs a second courier run and a customer contact."
                ),
            },
        },
    ),
    (
        "incidents.incident",
        "INC-{n}: recall of the failed-delivery predictor below its critical bound for 3 days",
        {
            "status": {"before": "open", "after": "investigating"},
            "assignee": {"before": None, "after": "valentina.rossi-validation"},
        },
    ),
)


@pytest.fixture
def audit_events(clock, delivery_model, people):
    """A hundred and twenty events of the predictor's trail, a day apart, across five kinds of
    object, by people with long usernames, with long reasons and values."""
    actors = [people["owner"], people["validator"], people["business"], None]
    actions = ("update", "create", "transition", "decide", "update")
    # The model's registration first: every field of the record, some still empty; its row
    # is taller than a page.
    with transaction.atomic():
        audit_record(
            actor=people["owner"],
            action="create",
            obj=delivery_model,
            model_ref=delivery_model.pk,
            changes={
                f"field_{i:02d}": {
                    "before": None,
                    "after": (
                        f"Registered value number {i} of the record, as the owner wrote it "
                        "when registering the model for the first time"
                        if i % 4
                        else ""
                    ),
                }
                for i in range(60)
            },
        )
    for n in range(120):
        object_type, text, changes = EVENT_KINDS[n % len(EVENT_KINDS)]
        filled = {
            name: {
                key: value.format(n=n) if isinstance(value, str) else value
                for key, value in change.items()
            }
            for name, change in changes.items()
        }
        clock.advance(hours=23, seconds=17)
        with transaction.atomic():
            audit_record(
                actor=actors[n % len(actors)],
                action=actions[n % len(actions)],
                object_type=object_type,
                object_id=str(1000 + n),
                object_repr=text.format(n=n),
                model_ref=delivery_model.pk,
                changes=filled,
                message=(
                    "Signed with re-authentication; reason: threshold agreed at the quarterly "
                    "model-risk committee, minutes MRC-2026-04."
                    if n % 7 == 0
                    else ""
                ),
            )
    return delivery_model


@pytest.fixture
def many_models(people):
    """Sixty models with long names, units and owners' names, every tier, status and EU AI
    Act class, some with overdue reviews."""
    units = [
        BusinessUnitFactory(name=name)
        for name in (
            "Last-mile Logistics and Parcel Operations (EU hubs)",
            "Retail Credit Risk — Consumer Lending",
            "Customer Service Automation",
        )
    ]
    today = timezone.localdate()
    statuses = ("development", "validation", "approved", "production", "retired")
    classes = ("unassessed", "high_risk", "limited", "minimal")
    for n in range(60):
        model = RegisteredModelFactory(
            slug=f"model-with-a-rather-long-identifier-{n:03d}",
            name=(
                f"Failed-delivery predictor for next-day parcel routing, variant {n}"
                if n % 2
                else f"Scorer {n}"
            ),
            business_unit=units[n % 3],
            owner=people["owner"],
            business_owner=people["business"],
            validator=people["validator"] if n % 4 else None,
            risk_tier=(None, 1, 2, 3)[n % 4],
            status=statuses[n % 5],
            eu_ai_act_class=classes[n % 4],
            eu_annex_iii_point="5(b)" if n % 4 == 1 else "",
            next_review_date=today + dt.timedelta(days=(n % 9 - 4) * 30),
        )
        if n % 3 == 0:
            ModelVersionFactory(model=model, version=f"10.{n}.0", stage="production")
    # A name with a word longer than its column: wrapped inside it, never over the next.
    RegisteredModelFactory(
        slug="kreditwuerdigkeit",
        name="Kreditwürdigkeitsprüfungsmodellversionsverwaltungssystem der Konsumentenkredite",
        business_unit=units[1],
        owner=people["owner"],
        business_owner=people["business"],
    )


# --- the reports -----------------------------------------------------------------------------


def test_the_lineage_pdf_is_laid_out_cleanly(auditor, delivery_model):
    doc = lineage_document(user=auditor, model=delivery_model)
    data = lineage_pdf(doc, sample.sample_meta())
    _keep("lineage.pdf", data)

    assert _pages(data) >= 3
    problems = check_pdf(data, tables=LINEAGE_TABLES)
    assert not problems, describe(problems)


def test_the_inventory_lineage_pdf_is_laid_out_cleanly(auditor, delivery_model):
    doc = lineage_document(user=auditor)
    data = lineage_pdf(doc, sample.sample_meta())
    _keep("lineage-inventory.pdf", data)

    problems = check_pdf(data, tables=LINEAGE_TABLES)
    assert not problems, describe(problems)


def test_the_audit_extract_pdf_is_laid_out_cleanly(auditor, audit_events):
    events, verification = audit_extract.extract_events(user=auditor, model=audit_events)
    data = audit_extract.extract_pdf(events, verification, sample.sample_meta())
    _keep("audit-extract.pdf", data)

    assert len(events) == 121
    problems = check_pdf(data, tables=EXTRACT_TABLES)
    assert not problems, describe(problems)
    first = pdf_layout.read_pages(data)[0]
    assert first.width > first.height  # landscape

    # A time is printed as its date and its time, each whole; a username is broken, if at
    # all, only after one of its separators; objects are named by their type's name.
    words = {word for page in pdf_layout.text_lines(data) for line in page for word in line.split()}
    for event in events:
        moment = event.occurred_at.astimezone(dt.UTC)
        assert moment.strftime("%Y-%m-%d") in words
        assert moment.strftime("%H:%M:%S") in words
    for username in {e.actor_username for e in events if e.actor_id is not None}:
        for part in re.split(r"(?<=[.\-])", username):
            assert any(part in word for word in words), (username, part)
    assert "monitoring.driftrun" not in " ".join(words)
    assert {"Drift", "Approval", "Threshold", "Incident"} <= words


def test_the_register_pdf_is_laid_out_cleanly(auditor, many_models):
    rows = register.register_rows(user=auditor)
    data = register.register_pdf(rows, sample.sample_meta())
    _keep("register.pdf", data)

    assert len(rows) == 61
    problems = check_pdf(data, tables=REGISTER_TABLES)
    assert not problems, describe(problems)
    # A row's first line fills every cell; all but the two right-aligned counts start at
    # their column.
    per_page = pdf_layout.table_rows(data, REGISTER_TABLES[0], cells=10)
    assert sum(per_page.values()) == len(rows)
    # Every page the table fills holds fifteen rows at least (its last page holds the rest).
    full = [count for page, count in sorted(per_page.items())][:-1]
    assert full and min(full) >= 15, per_page


def test_the_model_card_pdf_is_laid_out_cleanly():
    data = cards.card_pdf(sample.sample_snapshot(), sample.sample_meta())
    _keep("model-card.pdf", data)

    problems = check_pdf(data)
    assert not problems, describe(problems)


# --- the checker catches each fault ------------------------------------------------------------


def _pdf(body: str, *, style: str = "", landscape: bool = False) -> bytes:
    """A small document through the reports' own renderer (print.css margins and fonts)."""
    html = (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>t</title>'
        f"<style>{style}</style></head><body>{body}</body></html>"
    )
    return render_pdf(html, pdfa=False, landscape=landscape)


def _whys(problems) -> set[str]:
    return {p.why for p in problems}


PARAGRAPH = "<p>" + "Governance text of ordinary length for a model card section. " * 4 + "</p>"
TABLE_HEADER = ("Version", "Stage", "Owner")


def _table(rows: int, *, repeat_header: bool = True) -> str:
    head = "<thead>" if repeat_header else "<tbody>"
    return (
        '<table class="data">'
        f"{head}<tr><th>Version</th><th>Stage</th><th>Owner</th></tr>"
        f"{'</thead><tbody>' if repeat_header else ''}"
        + "".join(
            f"<tr><td>1.{n}.0</td><td>Production</td><td>owner{n}</td></tr>" for n in range(rows)
        )
        + "</tbody></table>"
    )


def test_the_checker_passes_a_clean_document():
    data = _pdf("<h1>Report</h1>" + PARAGRAPH + "<h2>Versions</h2>" + _table(120))

    assert _pages(data) >= 3
    assert check_pdf(data, tables=[TABLE_HEADER]) == []


def test_the_checker_finds_text_printed_over_text():
    data = _pdf(
        "<h1>Report</h1>" + PARAGRAPH + '<p class="a">Deployed 2026-04-01T06:30:15Z</p>'
        '<p class="b">Consumers route planner</p>',
        style=".a { margin: 0; } .b { margin-top: -1.2em; margin-left: 2.5em; }",
    )

    problems = check_pdf(data)
    assert _whys(problems) == {"text printed over other text"}
    assert problems[0].page == 1
    assert "Consumers" in problems[0].text or "Deployed" in problems[0].text


def test_the_checker_finds_a_cell_overprinting_the_next_column():
    data = _pdf(
        "<h1>Register</h1>"
        '<table class="data"><thead><tr><th>Model</th><th>Owner</th><th>Stage</th></tr></thead>'
        "<tbody><tr><td>Kreditwürdigkeitsprüfungsmodellversionsverwaltung</td>"
        "<td>Maximilian</td><td>Production</td></tr></tbody></table>",
        style="table.data td, table.data th { overflow-wrap: normal; }"
        " table.data { table-layout: fixed; width: 60mm; }",
    )

    assert "text printed over other text" in _whys(check_pdf(data))


def test_the_checker_finds_text_outside_the_page_and_in_its_margin():
    outside = _pdf(
        "<h1>Report</h1>" + PARAGRAPH + '<p class="far">Registered 2026-12-03T07:08:41Z</p>',
        style=".far { position: absolute; left: 200mm; top: 40mm; white-space: nowrap; }",
    )
    margin = _pdf(
        "<h1>Report</h1>" + PARAGRAPH + '<p class="wide">Registered by dana.developer</p>',
        style=".wide { text-align: right; margin-right: -8mm; }",
    )

    found = check_pdf(outside)
    assert "text outside the page" in _whys(found)
    assert any("2026-12-03" in p.text for p in found)
    assert _whys(check_pdf(margin)) == {"text runs into the page margin"}


def test_the_checker_finds_text_across_a_box_edge():
    data = _pdf(
        "<h1>Lineage</h1>" + PARAGRAPH + '<div class="node">Failed-delivery predictor</div>',
        style=".node { width: 25mm; height: 8mm; border: 0.75pt solid #1f4e79;"
        " white-space: nowrap; }",
    )

    problems = check_pdf(data)
    assert _whys(problems) == {"text runs across a box edge"}
    assert "predictor" in problems[0].text


def test_the_checker_finds_a_page_with_only_a_heading():
    data = _pdf(
        "<h1>Audit extract</h1>" + PARAGRAPH + '<h2 class="alone">Events</h2>'
        '<p class="next">The first event.</p>',
        style=".alone { break-before: page; break-after: page; } .next { margin: 0; }",
    )

    problems = check_pdf(data)
    assert ("page holds only a heading", 2, "Events") in {(p.why, p.page, p.text) for p in problems}


def test_the_checker_finds_a_blank_page_and_a_heading_at_the_foot_of_a_page():
    blank = _pdf(
        "<h1>Report</h1>" + PARAGRAPH + '<div class="gap"></div><p>After the gap.</p>',
        style=".gap { break-before: page; break-after: page; height: 1mm; }",
    )
    orphan = _pdf(
        "<h1>Report</h1>"
        + PARAGRAPH
        + '<div class="filler"></div><h2 class="last">Findings</h2>'
        + PARAGRAPH,
        style=".filler { height: 200mm; } .last { break-after: page; }",
    )

    assert ("blank page", 2) in {(p.why, p.page) for p in check_pdf(blank)}
    assert [(p.why, p.page, p.text) for p in check_pdf(orphan)] == [
        ("heading at the foot of the page", 1, "Findings")
    ]


def test_the_checker_finds_a_heading_left_at_the_foot_with_only_its_note():
    # As the model card's "Approvals and signed decisions" was: the heading and its
    # small-print note at the foot of one page, the first decision on the next.
    data = _pdf(
        "<h1>Report</h1>"
        + PARAGRAPH
        + '<div class="filler"></div><h2>Approvals</h2><p class="note">Newest first.</p>'
        + '<div class="entry"><h3>#34 Threshold sign-off</h3>'
        + PARAGRAPH * 3
        + "</div>",
        style=".filler { height: 195mm; } .note { margin: 0; } .entry { break-inside: avoid; }",
    )

    assert [(p.why, p.page, p.text) for p in check_pdf(data)] == [
        ("heading at the foot of the page", 1, "Approvals")
    ]


def test_the_checker_finds_a_table_page_without_its_header_row():
    data = _pdf("<h1>Versions</h1>" + _table(120, repeat_header=False))

    problems = check_pdf(data, tables=[TABLE_HEADER])
    pages = {p.page for p in problems if p.why.startswith("table rows without")}
    assert pages == set(range(2, _pages(data) + 1))


def test_the_checker_finds_a_table_header_left_at_the_foot_of_a_page():
    data = _pdf(
        "<h1>Versions</h1>" + _table(3),
        style="thead { display: table-row-group; } tbody tr:first-child { break-before: page; }",
    )

    problems = check_pdf(data, tables=[TABLE_HEADER])
    assert [(p.page, p.why) for p in problems] == [
        (1, "table header at the foot of the page"),
        (2, "table rows without the table's header row on this page"),
    ]


def test_the_checker_names_a_table_whose_header_never_appears():
    data = _pdf("<h1>Versions</h1>" + _table(5))

    problems = check_pdf(data, tables=[("Environment", "Endpoint", "Status")])
    assert [(p.page, p.why) for p in problems] == [(0, "table header never printed")]
