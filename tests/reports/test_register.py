"""Inventory register: rows, filters shared with the inventory list, as-of, CSV, XLSX, PDF."""

from __future__ import annotations

import csv
import datetime as dt
import io
import shutil
import subprocess
import zipfile

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone

from apps.approvals.models import ApprovalRequest
from apps.core.errors import ApplicationError
from apps.incidents.models import Incident
from apps.reports import register
from apps.reviews.models import Finding
from tests.factories import (
    BusinessUnitFactory,
    ModelVersionFactory,
    RegisteredModelFactory,
    UserFactory,
)
from tests.reports.sample import sample_meta

pytestmark = pytest.mark.django_db

INJECTIONS = (
    '=HYPERLINK("http://evil.example/x","click")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\tTabbed",
    "\rReturned",
)


def _incident(model, *, status="open", n=[0]):  # noqa: B006 - a counter for references
    n[0] += 1
    return Incident.objects.create(
        reference=f"INC-2026-{n[0]:04d}",
        model=model,
        title="Scores drifted",
        severity="sev2",
        status=status,
        detected_at=timezone.now(),
    )


def _finding(model, *, due, status="open"):
    return Finding.objects.create(
        model=model,
        title="Weak monitoring",
        severity="medium",
        description="Needs work.",
        owner=model.owner,
        due_date=due,
        status=status,
        created_by=model.owner,
    )


def _approved(model, closed_at):
    return ApprovalRequest.objects.create(
        kind="promotion",
        model=model,
        subject_type="inventory.modelversion",
        subject_id="1",
        title="Promote",
        content={},
        content_sha256="0" * 64,
        required_slots=[],
        status="approved",
        requested_by=model.owner,
        requested_at=closed_at - dt.timedelta(days=1),
        closed_at=closed_at,
    )


@pytest.fixture
def inventory(owned_model, foreign_model, validator):
    today = timezone.localdate()
    owned_model.risk_tier = 1
    owned_model.eu_ai_act_class = "high_risk"
    owned_model.eu_annex_iii_point = "5b"
    owned_model.status = "production"
    owned_model.validator = validator
    owned_model.next_review_date = today - dt.timedelta(days=3)
    owned_model.save()
    ModelVersionFactory(model=owned_model, version="2.1.0", stage="production")
    ModelVersionFactory(model=owned_model, version="2.0.0", stage="archived")
    _incident(owned_model)
    _incident(owned_model, status="investigating")
    _incident(owned_model, status="closed")
    _finding(owned_model, due=today - dt.timedelta(days=1))
    _finding(owned_model, due=today + dt.timedelta(days=30))
    _finding(owned_model, due=today - dt.timedelta(days=90), status="closed")
    _approved(owned_model, timezone.now() - dt.timedelta(days=20))
    latest = _approved(owned_model, timezone.now() - dt.timedelta(days=2))
    foreign_model.risk_tier = 3
    foreign_model.next_review_date = today + dt.timedelta(days=200)
    foreign_model.save()
    return {"latest_approval": latest}


def _row(rows, slug):
    return next(r for r in rows if r["slug"] == slug)


def test_it_lists_each_models_key_governance_fields(auditor, inventory):
    rows = register.register_rows(user=auditor)

    assert [r["slug"] for r in rows] == ["foreign-model", "owned-model"]
    row = _row(rows, "owned-model")
    assert row["owner"] == "mo.owner"
    assert row["business_owner"] == "bea.business"
    assert row["validator"] == "val.validator"
    assert row["risk_tier"] == 1
    assert row["eu_ai_act_class"] == "high_risk"
    assert row["eu_annex_iii_point"] == "5b"
    assert row["status"] == "production"
    assert row["production_version"] == "2.1.0"
    closed = inventory["latest_approval"].closed_at
    assert row["last_approval_at"] == closed.replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert row["open_incidents"] == 2
    assert row["open_findings"] == 2
    assert row["overdue_findings"] == 1
    assert row["review_overdue"] is True
    assert row["findings_overdue"] is True
    other = _row(rows, "foreign-model")
    assert (other["open_incidents"], other["open_findings"], other["production_version"]) == (
        0,
        0,
        "",
    )
    assert other["review_overdue"] is False and other["last_approval_at"] is None


QUERIES = [
    {},
    {"risk_tier": ["1"]},
    {"risk_tier": ["1", "3"]},
    {"unassessed": "true"},
    {"status": ["production"]},
    {"eu_ai_act_class": ["high_risk"]},
    {"q": "foreign"},
    {"owner": "oz.otherowner"},
    {"review_due_before": "2099-01-01", "ordering": "-next_review_date"},
    {"ordering": "-risk_tier"},
    {"ordering": "owner"},
]


@pytest.mark.parametrize("query", QUERIES)
def test_it_filters_exactly_like_the_inventory_list(client, auditor, inventory, query):
    RegisteredModelFactory(slug="unassessed-model", name="Awaiting assessment")
    client.force_login(auditor)
    response = client.get(reverse("inventory:model_list"), query)
    listed = [m.slug for m in response.context["models"]]

    rows = register.register_rows(user=auditor, filters=query)

    assert [r["slug"] for r in rows] == listed
    if query:
        assert rows.filters


def test_it_filters_by_business_unit_code_like_the_list(client, auditor, owned_model, inventory):
    unit = BusinessUnitFactory(code="lending", name="Lending")
    owned_model.business_unit = unit
    owned_model.save()
    client.force_login(auditor)
    listed = client.get(reverse("inventory:model_list"), {"business_unit": "lending"})

    rows = register.register_rows(user=auditor, filters={"business_unit": ["lending"]})

    assert [r["slug"] for r in rows] == [m.slug for m in listed.context["models"]]
    assert [r["slug"] for r in rows] == ["owned-model"]


def test_it_shows_a_model_owner_only_their_models(model_owner, inventory):
    rows = register.register_rows(user=model_owner)

    assert [r["slug"] for r in rows] == ["owned-model"]


def test_it_refuses_a_user_without_a_role(outsider):
    with pytest.raises(PermissionDenied):
        register.register_rows(user=outsider)


def test_it_rejects_an_invalid_filter_and_names_it(auditor):
    with pytest.raises(ApplicationError) as caught:
        register.register_rows(user=auditor, filters={"risk_tier": ["9"]})

    assert "risk_tier" in caught.value.field_errors


def test_it_refuses_to_filter_by_an_owner_the_user_cannot_see(model_owner, inventory):
    with pytest.raises(ApplicationError):
        register.register_rows(user=model_owner, filters={"owner": "oz.otherowner"})


def test_register_queries_do_not_grow_with_the_number_of_models(
    auditor, django_assert_max_num_queries
):
    def make(count):
        for _ in range(count):
            model = RegisteredModelFactory(risk_tier=2)
            ModelVersionFactory(model=model, stage="production")
            _incident(model)
            _finding(model, due=timezone.localdate())
            _approved(model, timezone.now())

    make(1)
    with django_assert_max_num_queries(10) as one:
        register.register_rows(user=auditor, filters={"risk_tier": ["2"]})
    make(4)
    with django_assert_max_num_queries(len(one.captured_queries)):
        rows = register.register_rows(user=auditor, filters={"risk_tier": ["2"]})
    assert len(rows) == 5


def test_as_of_register_queries_do_not_grow_with_the_number_of_models(
    auditor, django_assert_max_num_queries
):
    later = timezone.now() + dt.timedelta(hours=1)

    def make(count):
        for _ in range(count):
            model = RegisteredModelFactory(risk_tier=2)
            ModelVersionFactory(model=model, stage="production")
            _incident(model)
            _finding(model, due=timezone.localdate())

    make(1)
    with django_assert_max_num_queries(20) as one:
        register.register_rows(user=auditor, as_of=later)
    make(4)
    with django_assert_max_num_queries(len(one.captured_queries)):
        rows = register.register_rows(user=auditor, as_of=later)
    assert len(rows) == 5


# --- as of a past time --------------------------------------------------------------------


def test_it_shows_the_register_as_it_stood_and_filters_on_those_values(
    admin_user, auditor, validator, owned_model, foreign_model
):
    from apps.inventory import services

    owned_model.created_at = foreign_model.created_at = timezone.now() - dt.timedelta(days=30)
    type(owned_model).objects.update(created_at=timezone.now() - dt.timedelta(days=30))
    t = timezone.now()
    services.registered_model_update(
        actor=admin_user, model=owned_model, name="Renamed model", validator=validator
    )
    _incident(owned_model)
    RegisteredModelFactory(slug="born-later")

    then = register.register_rows(user=auditor, as_of=t)
    now = register.register_rows(user=auditor)

    assert [r["slug"] for r in then] == ["foreign-model", "owned-model"]
    assert _row(then, "owned-model")["name"] == "Owned model"
    assert _row(then, "owned-model")["validator"] == ""
    assert _row(then, "owned-model")["open_incidents"] == 0
    assert then.as_of_requested is True
    assert _row(now, "owned-model")["name"] == "Renamed model"
    assert _row(now, "owned-model")["open_incidents"] == 1
    assert "born-later" in [r["slug"] for r in now]
    # Filters apply to the values of T: the search finds the old name, not the new one.
    assert [
        r["slug"] for r in register.register_rows(user=auditor, filters={"q": "owned"}, as_of=t)
    ] == ["owned-model"]
    assert register.register_rows(user=auditor, filters={"q": "renamed"}, as_of=t) == []


# --- CSV ----------------------------------------------------------------------------------


@pytest.fixture
def hostile_rows(auditor, owned_model):
    for index, text in enumerate(INJECTIONS):
        RegisteredModelFactory(slug=f"hostile-{index}", name=text, risk_tier=2)
    owned_model.business_unit.name = "=cmd|' /C calc'!A0"
    owned_model.business_unit.save()
    UserFactory(username="@mallory")
    return register.register_rows(user=auditor)


def test_it_neutralises_formula_injection_in_the_csv(hostile_rows):
    data = register.register_csv(hostile_rows)

    assert data.startswith(b"\xef\xbb\xbf")  # a BOM, so Excel reads UTF-8
    table = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    names = {r["slug"]: r["name"] for r in table}
    for index, text in enumerate(INJECTIONS):
        assert names[f"hostile-{index}"] == "'" + text
    owned = next(r for r in table if r["slug"] == "owned-model")
    assert owned["business_unit"] == "'=cmd|' /C calc'!A0"
    for row in table:
        assert not row["name"].startswith(register.FORMULA_PREFIXES)
        assert not row["business_unit"].startswith(register.FORMULA_PREFIXES)
    hostile = next(r for r in table if r["slug"] == "hostile-0")
    assert hostile["risk_tier"] == "2"  # numbers stay numbers
    assert hostile["open_incidents"] == "0"
    assert hostile["review_overdue"] == "false"
    assert list(table[0]) == [key for key, _, _ in register.COLUMNS]


def test_csv_text_prefixes_every_dangerous_start_and_leaves_the_rest():
    for text in ("=1", "+1", "-1", "@a", "\tx", "\rx"):
        assert register.csv_text(text) == "'" + text
    assert register.csv_text("plain =1") == "plain =1"
    assert register.csv_text("'quoted") == "''quoted"  # so dropping one apostrophe undoes it
    assert register.csv_cell(-3) == -3  # a number, not text
    assert register.csv_cell(None) == ""


# --- XLSX ---------------------------------------------------------------------------------


def test_it_writes_the_xlsx_with_strings_never_formulas(hostile_rows):
    from openpyxl import load_workbook

    data = register.register_xlsx(hostile_rows, sample_meta())
    workbook = load_workbook(io.BytesIO(data))
    sheet = workbook["Register"]

    header = [c.value for c in sheet[1]]
    assert header == [label for _, label, _ in register.XLSX_COLUMNS]
    assert sheet.freeze_panes == "C2"
    assert sheet.column_dimensions["B"].width >= 30
    names = {
        sheet.cell(row=r, column=1).value: sheet.cell(row=r, column=2)
        for r in range(2, sheet.max_row + 1)
    }
    for index, text in enumerate(INJECTIONS):
        cell = names[f"hostile-{index}"]
        assert cell.data_type == "s"
        assert cell.value == text.replace("\r", "\n")  # XML reads a lone CR back as LF
    tier = sheet.cell(row=2, column=header.index("Risk tier code") + 1)
    assert tier.value in (2, None) and tier.data_type == "n"
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        xml = archive.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in xml and "<f " not in xml

    info = workbook["Generation"]
    lines = {
        info.cell(row=r, column=1).value: info.cell(row=r, column=2).value
        for r in range(1, info.max_row + 1)
    }
    assert lines["Generator"] == "mlgov 0.5.0"
    assert lines["Audit chain head hash"] == sample_meta()["audit_chain_head"]["hash"]
    assert lines["Models listed"] == len(hostile_rows)


def test_it_writes_dates_as_dates_in_the_xlsx(auditor, inventory):
    from openpyxl import load_workbook

    rows = register.register_rows(user=auditor)
    sheet = load_workbook(io.BytesIO(register.register_xlsx(rows, sample_meta())))["Register"]
    by_slug = {sheet.cell(row=r, column=1).value: r for r in range(2, sheet.max_row + 1)}
    row = by_slug["owned-model"]
    columns = {key: i for i, (key, _, _) in enumerate(register.XLSX_COLUMNS, start=1)}

    review = sheet.cell(row=row, column=columns["next_review_date"])
    assert review.value.date() == timezone.localdate() - dt.timedelta(days=3)
    assert review.number_format == "d mmm yyyy"
    assert sheet.cell(row=row, column=columns["open_incidents"]).value == 2
    assert sheet.cell(row=row, column=columns["review_overdue"]).value is True


# --- PDF ----------------------------------------------------------------------------------


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs poppler-utils")
def test_its_pdf_is_landscape_and_holds_the_key_fields(auditor, inventory, tmp_path):
    rows = register.register_rows(user=auditor, filters={"risk_tier": ["1"]})
    path = tmp_path / "register.pdf"
    path.write_bytes(register.register_pdf(rows, sample_meta()))

    text = subprocess.run(
        ["pdftotext", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    flat = " ".join(text.split())
    assert "Inventory register" in flat
    assert "owned-model" in flat and "Owned model" in flat
    assert "foreign-model" not in flat  # filtered out
    assert "risk_tier = 1" in flat
    assert "2.1.0" in flat
    assert "OVERDUE" in flat
    assert "High-risk" in flat or "High risk" in flat
    assert sample_meta()["audit_chain_head"]["hash"] in "".join(text.split())
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    size = next(line for line in info.splitlines() if line.startswith("Page size"))
    width, height = (float(v) for v in size.split(":")[1].split("pts")[0].split(" x "))
    assert width > height


# --- names, labels and times for people ---------------------------------------------------


def _csv_table(rows) -> list[dict]:
    data = register.register_csv(rows).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(data, newline="")))


def test_the_csv_names_people_and_labels_codes_next_to_the_values_programs_read(
    auditor, inventory, owned_model, validator
):
    owned_model.owner.first_name, owned_model.owner.last_name = "Maya", "Chen"
    owned_model.owner.save()
    validator.first_name, validator.last_name = "Victor", "Lindqvist"
    validator.save()
    owned = next(
        r for r in _csv_table(register.register_rows(user=auditor)) if r["slug"] == "owned-model"
    )

    # people: full name for people, the username in its own column (heading unchanged)
    assert owned["owner_name"] == "Maya Chen"
    assert owned["owner"] == owned_model.owner.username
    assert owned["validator_name"] == "Victor Lindqvist"
    assert owned["validator"] == validator.username
    # choices: the label for people, the code in the column programs read
    assert owned["risk_tier_label"] == "Tier 1 (high)"
    assert owned["risk_tier"] == "1"
    assert owned["status_label"] == "Production"
    assert owned["status"] == "production"
    assert owned["eu_ai_act_class_label"].startswith("High-risk")
    assert owned["eu_ai_act_class"] == "high_risk"
    assert owned["business_unit_code"] == owned_model.business_unit.code
    # dates: readable and ISO
    review = timezone.localdate() - dt.timedelta(days=3)
    assert owned["next_review_date"] == review.isoformat()
    assert owned["next_review"] == f"{review.day} {review:%b %Y}"


def test_every_column_of_earlier_registers_keeps_its_heading():
    earlier = [
        "slug",
        "name",
        "business_unit",
        "owner",
        "business_owner",
        "validator",
        "risk_tier",
        "eu_ai_act_class",
        "eu_annex_iii_point",
        "status",
        "production_version",
        "last_approval_at",
        "open_incidents",
        "open_findings",
        "overdue_findings",
        "next_review_date",
        "review_overdue",
        "findings_overdue",
    ]
    keys = [key for key, _, _ in register.COLUMNS]
    assert set(earlier) <= set(keys)
    assert len(keys) == len(set(keys))


def test_times_are_in_the_readers_zone_and_in_iso_utc(auditor, inventory):
    approved = inventory["latest_approval"]
    approved.closed_at = dt.datetime(2026, 7, 3, 8, 15, tzinfo=dt.UTC)
    approved.save()
    ApprovalRequest.objects.exclude(pk=approved.pk).delete()
    auditor.timezone = "Europe/Stockholm"
    auditor.save()

    rows = register.register_rows(user=auditor)
    owned = next(r for r in _csv_table(rows) if r["slug"] == "owned-model")
    assert owned["last_approval"] == "3 Jul 2026, 10:15 CEST"
    assert owned["last_approval_at"].startswith("2026-07-03T08:15:00")

    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(register.register_xlsx(rows, sample_meta())))["Register"]
    header = [c.value for c in sheet[1]]
    by_slug = {sheet.cell(row=r, column=1).value: r for r in range(2, sheet.max_row + 1)}
    row = by_slug["owned-model"]
    assert sheet.cell(row=row, column=header.index("Last approval") + 1).value == (
        "3 Jul 2026, 10:15 CEST"
    )
    utc = sheet.cell(row=row, column=header.index("Last approval (UTC)") + 1).value
    assert utc == dt.datetime(2026, 7, 3, 8, 15)
    assert sheet.cell(row=row, column=header.index("Owner") + 1).value == (owned["owner_name"])
    assert sheet.cell(row=row, column=header.index("Status") + 1).value == "Production"
    assert sheet.cell(row=row, column=header.index("Status code") + 1).value == "production"


# --- models found by an integration -----------------------------------------------------------


def test_it_flags_discovered_models_waiting_for_a_claim_now_and_as_of_a_past_time(auditor):
    now = timezone.now()
    waiting = RegisteredModelFactory(name="Found, unclaimed")
    claimed = RegisteredModelFactory(name="Found, claimed")
    typed = RegisteredModelFactory(name="Registered by hand")
    type(waiting).objects.filter(pk__in=[waiting.pk, claimed.pk, typed.pk]).update(
        created_at=now - dt.timedelta(days=10)
    )
    type(waiting).objects.filter(pk__in=[waiting.pk, claimed.pk]).update(
        discovered_from="MLflow (registry.example)", discovered_at=now - dt.timedelta(days=10)
    )
    type(claimed).objects.filter(pk=claimed.pk).update(claimed_at=now - dt.timedelta(days=2))

    def flags(rows):
        return {r["name"]: (r["discovered_from"], r["awaiting_claim"]) for r in rows}

    found = "MLflow (registry.example)"
    assert flags(register.register_rows(user=auditor)) == {
        "Found, unclaimed": (found, True),
        "Found, claimed": (found, False),
        "Registered by hand": ("", False),
    }
    before_the_claim = register.register_rows(user=auditor, as_of=now - dt.timedelta(days=5))
    assert flags(before_the_claim)["Found, claimed"] == (found, True)

    rows = register.register_rows(user=auditor)
    text = register.register_csv(rows).decode("utf-8-sig")
    header = next(csv.reader(io.StringIO(text)))
    assert {"discovered_from", "awaiting_claim"} <= set(header)
    html = register.register_html(rows, sample_meta())
    assert html.count("DISCOVERED in MLflow (registry.example), awaiting claim") == 1
    assert "discovered in MLflow (registry.example)</span>" in html
