"""Audit extract: scope, permissions, chain verification (also after tampering), CSV, PDF."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess

import pytest
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from apps.audit.chain import HASHED_FIELDS, compute_hash
from apps.audit.services import audit_record
from apps.reports import audit_extract
from tests.audit.tamper import forge_message
from tests.factories import RegisteredModelFactory
from tests.reports.sample import sample_meta

pytestmark = pytest.mark.django_db


def _record(actor, model, message, *, changes=None):
    with transaction.atomic():
        return audit_record(
            actor=actor,
            action="update",
            obj=model,
            model_ref=model.pk,
            changes=changes or {"name": {"before": "Old", "after": model.name}},
            message=message,
        )


@pytest.fixture
def events(admin_user, owned_model, foreign_model):
    first = _record(admin_user, owned_model, "first change")
    other = _record(admin_user, foreign_model, "another model")
    second = _record(
        admin_user,
        owned_model,
        '=HYPERLINK("http://evil.example","x")',
        changes={"validator": {"before": None, "after": admin_user.pk}},
    )
    return {"first": first, "other": other, "second": second}


def test_it_extracts_a_models_events_oldest_first_and_verifies_them(auditor, owned_model, events):
    extracted, verification = audit_extract.extract_events(user=auditor, model=owned_model)

    assert [e.pk for e in extracted] == [events["first"].pk, events["second"].pk]
    assert verification["ok"] is True
    assert verification["extract"]["ok"] is True
    assert verification["extract"]["count"] == 2
    assert verification["extract"]["links_ok"] == 2  # linked through the other model's event
    assert verification["chain"]["ok"] is True
    assert verification["chain"]["count"] == events["second"].sequence
    assert verification["chain_head"] == {
        "sequence": events["second"].sequence,
        "hash": events["second"].hash,
    }
    assert verification["scope"]["model"] == "owned-model"
    json.dumps(verification)


def test_it_extracts_a_period_with_the_end_included(auditor, admin_user, owned_model, events):
    cut = timezone.now()
    later = _record(admin_user, owned_model, "after the cut")

    until, _ = audit_extract.extract_events(user=auditor, end=cut)
    since, _ = audit_extract.extract_events(user=auditor, start=cut)
    until_second, _ = audit_extract.extract_events(user=auditor, end=events["second"].occurred_at)
    whole_day, _ = audit_extract.extract_events(user=auditor, end=timezone.now().date())

    assert [e.pk for e in until] == [e.pk for e in events.values()]
    assert [e.pk for e in since] == [later.pk]
    assert until_second[-1].pk == events["second"].pk
    assert whole_day[-1].pk == later.pk


@pytest.mark.parametrize("persona", ["viewer", "model_owner", "business_owner", "outsider"])
def test_it_refuses_users_who_do_not_read_the_audit_log(request, persona, owned_model):
    user = request.getfixturevalue(persona)

    with pytest.raises(PermissionDenied):
        audit_extract.extract_events(user=user, model=owned_model)


@pytest.mark.parametrize("persona", ["admin_user", "validator", "auditor"])
def test_it_serves_the_roles_that_read_the_audit_log(request, persona, owned_model, events):
    user = request.getfixturevalue(persona)

    extracted, verification = audit_extract.extract_events(user=user, model=owned_model)

    assert len(extracted) == 2 and verification["ok"]


def test_it_reports_a_tampered_event_in_the_extract(auditor, owned_model, events):
    forge_message(events["first"].pk, "nothing to see")

    _, verification = audit_extract.extract_events(user=auditor, model=owned_model)

    assert verification["ok"] is False
    assert verification["extract"]["ok"] is False
    assert verification["extract"]["problems"][0]["sequence"] == events["first"].sequence
    assert "altered" in verification["extract"]["problems"][0]["reason"]
    assert verification["chain"]["ok"] is False
    assert verification["chain"]["broken_sequence"] == events["first"].sequence
    checks = {c["sequence"]: c for c in verification["events"]}
    assert checks[events["first"].sequence]["hash_ok"] is False
    assert checks[events["second"].sequence]["hash_ok"] is True


def test_it_reports_a_broken_chain_outside_the_extract(auditor, owned_model, events):
    forge_message(events["other"].pk)

    _, verification = audit_extract.extract_events(user=auditor, model=owned_model)

    assert verification["extract"]["ok"] is True  # this model's events are untouched
    assert verification["chain"]["ok"] is False
    assert verification["ok"] is False


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs poppler-utils")
def test_its_pdf_prints_a_failing_verification_after_tampering(
    auditor, owned_model, events, tmp_path
):
    forge_message(events["second"].pk, "tampered")
    extracted, verification = audit_extract.extract_events(user=auditor, model=owned_model)
    path = tmp_path / "extract.pdf"
    path.write_bytes(audit_extract.extract_pdf(extracted, verification, sample_meta()))

    text = subprocess.run(
        ["pdftotext", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    flat = " ".join(text.split())
    assert "Chain verification: FAILED" in flat
    assert "its events do not link up" in flat
    assert f"Sequence {events['second'].sequence}: content does not match its hash" in flat
    assert "broken" in flat


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs poppler-utils")
def test_its_pdf_holds_the_verification_head_count_and_events(
    auditor, owned_model, events, tmp_path
):
    extracted, verification = audit_extract.extract_events(user=auditor, model=owned_model)
    path = tmp_path / "extract.pdf"
    path.write_bytes(audit_extract.extract_pdf(extracted, verification, sample_meta()))

    text = subprocess.run(
        ["pdftotext", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    flat = " ".join(text.split())
    squeezed = "".join(text.split())
    assert "Audit extract: Owned model" in flat
    assert "Chain verification: PASSED" in flat
    assert "its events link up" in flat
    assert f"{events['second'].sequence} events checked from the first" in flat
    assert events["second"].hash in squeezed  # the chain head
    assert "first change" in flat
    assert "ada.admin" in flat  # the validator id shown as the person
    assert "another model" not in flat
    detached = subprocess.run(
        ["pdfdetach", "-list", str(path)], capture_output=True, text=True, check=True
    ).stdout
    assert "audit-extract.csv" in detached


def test_its_csv_holds_every_hashed_field_so_hashes_can_be_recomputed(auditor, owned_model, events):
    extracted, verification = audit_extract.extract_events(user=auditor, model=owned_model)
    data = audit_extract.extract_csv(extracted, verification)

    assert data.startswith(b"\xef\xbb\xbf")
    table = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert list(table[0]) == list(audit_extract.CSV_COLUMNS)
    assert table[1]["message"] == "'" + events["second"].message  # formula neutralised
    for row in table:
        unescaped = {k: v[1:] if v.startswith("'") else v for k, v in row.items()}
        event = {
            **unescaped,
            "sequence": int(row["sequence"]),
            "actor_id": int(row["actor_id"]) if row["actor_id"] else None,
            "model_ref": int(row["model_ref"]) if row["model_ref"] else None,
            "changes": json.loads(unescaped["changes"]),
        }
        assert compute_hash(event) == row["hash"]
        assert row["hash_ok"] == "true" and row["linked"] == "true"


def test_extract_queries_do_not_grow_with_the_number_of_events(
    auditor, admin_user, django_assert_max_num_queries
):
    def make(count):
        for _ in range(count):
            _record(admin_user, RegisteredModelFactory(), "change")

    make(1)
    with django_assert_max_num_queries(10) as one:
        audit_extract.extract_events(user=auditor)
    make(4)
    with django_assert_max_num_queries(len(one.captured_queries)):
        extracted, _ = audit_extract.extract_events(user=auditor)
    assert len(extracted) == 5


def test_it_verifies_the_chain_from_the_last_proven_point_only(
    auditor, admin_user, owned_model, events
):
    """Cost of the events since the last verification, not of the whole trail."""
    from apps.audit.services import verification_run

    run, result = verification_run(trigger="command", full=True)
    assert result.ok and run.target_sequence == events["second"].sequence
    later = _record(admin_user, owned_model, "after the verification")
    extracted, verification = audit_extract.extract_events(user=auditor, model=owned_model)
    assert extracted[-1].pk == later.pk
    assert verification["ok"] is True
    assert verification["chain"]["count"] == 1  # only the event after the proven point
    assert verification["chain_base"]["sequence"] == events["second"].sequence


def test_its_csv_adds_the_event_for_people_after_the_columns_programs_read(
    auditor, admin_user, owned_model, events
):
    import zoneinfo

    from apps.core.export_cells import local_time

    admin_user.first_name, admin_user.last_name = "Ada", "Lovelace"
    admin_user.save(update_fields=["first_name", "last_name"])
    extracted, verification = audit_extract.extract_events(user=auditor, model=owned_model)
    zone = zoneinfo.ZoneInfo("Europe/Stockholm")
    data = audit_extract.extract_csv(extracted, verification, zone=zone)
    table = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    header = list(table[0])
    # the verifier's columns first, in their places; the readable ones after them
    assert header == [*HASHED_FIELDS, "hash", "hash_ok", "linked", *audit_extract.READABLE_COLUMNS]
    assert audit_extract.READABLE_COLUMNS == (
        "occurred_at_local",
        "actor_name",
        "action_label",
        "object_type_label",
    )
    first = next(r for r in table if int(r["sequence"]) == events["first"].sequence)
    assert first["occurred_at_local"] == local_time(events["first"].occurred_at, zone)
    assert first["occurred_at_local"].endswith(("CET", "CEST"))
    assert first["occurred_at"].endswith("Z") or "+00:00" in first["occurred_at"]
    assert first["actor_name"] == "Ada Lovelace"
    assert first["actor_username"] == "ada.admin"
    assert first["action_label"] == "Updated" and first["action"] == "update"
    assert first["object_type_label"] == "Registered model"
    assert first["object_type"] == "inventory.registeredmodel"
