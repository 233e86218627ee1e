"""Every report writes a signed audit checkpoint and prints it; a rewritten chain gets none.

Real generation (no stand-in), so what is checked is what an auditor receives.
"""

from __future__ import annotations

import io
import json
import zipfile

import openpyxl
import pytest
from django.template.loader import render_to_string

from apps.audit.checkpoints import read_file
from apps.core.signing import installation_keyset
from apps.reports import services
from apps.reports.choices import ReportStatus
from apps.reports.models import Report
from tests.audit.tamper import truncate_and_reset_head

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


def _generated(user, *, kind, fmt, model=None) -> tuple[Report, bytes]:
    report = services.report_request(user=user, kind=kind, fmt=fmt, model=model, enqueue=False)
    services.report_generate(report_id=report.pk)
    report = Report.objects.get(pk=report.pk)
    assert report.status == ReportStatus.DONE, report.error
    return report, services.report_file_bytes(report=report)


def _xlsx_text(data: bytes) -> str:
    workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    return " ".join(
        str(value)
        for sheet in workbook.worksheets
        for row in sheet.iter_rows(values_only=True)
        for value in row
        if value is not None
    )


def _written(settings):
    checkpoints = read_file(settings.MLGOV_AUDIT_CHECKPOINT_PATH, keyset=installation_keyset())
    assert checkpoints.invalid == []
    return checkpoints.valid


@pytest.mark.parametrize(
    ("kind", "fmt", "with_model"),
    [
        ("model_card", "html", True),
        ("model_card", "markdown", True),
        ("model_card", "json", True),
        ("register", "xlsx", False),
        ("lineage", "json", True),
    ],
)
def test_a_report_prints_the_checkpoint_written_for_it(
    settings, auditor, owned_model, kind, fmt, with_model
):
    report, data = _generated(
        auditor, kind=kind, fmt=fmt, model=owned_model if with_model else None
    )
    (checkpoint,) = _written(settings)
    assert checkpoint.reason == f"report {report.pk}"
    text = _xlsx_text(data) if fmt == "xlsx" else data.decode()
    assert checkpoint.hash in text and checkpoint.signature in text
    assert checkpoint.key_id in text
    manifest = json.loads(report.manifest)
    assert manifest["audit_checkpoint"] == checkpoint.record()


def test_an_evidence_pack_records_the_checkpoint_in_its_signed_manifest(
    settings, auditor, owned_model
):
    _, data = _generated(auditor, kind="evidence_pack", fmt="zip", model=owned_model)
    (checkpoint,) = _written(settings)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        card = archive.read("model-card.md").decode()
    assert manifest["audit_checkpoint"] == checkpoint.record()
    assert checkpoint.signature in card


def test_each_report_adds_one_checkpoint_line(settings, auditor, owned_model):
    for _ in range(2):
        _generated(auditor, kind="model_card", fmt="json", model=owned_model)
    first, second = _written(settings)
    assert second.sequence > first.sequence  # the first report's own audit events came between


def test_a_report_is_refused_when_the_chain_lost_what_a_checkpoint_vouched_for(
    settings, auditor, owned_model
):
    _generated(auditor, kind="model_card", fmt="json", model=owned_model)
    truncate_and_reset_head()
    report = services.report_request(
        user=auditor, kind="model_card", fmt="json", model=owned_model, enqueue=False
    )
    services.report_generate(report_id=report.pk)
    report.refresh_from_db()
    assert report.status == ReportStatus.FAILED
    assert "No checkpoint was written" in report.error
    assert report.error.endswith("Nothing was stored.")
    assert not report.file
    assert len(_written(settings)) == 1


def test_a_report_is_refused_when_the_checkpoint_cannot_be_written(
    settings, tmp_path, auditor, owned_model
):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    settings.MLGOV_AUDIT_CHECKPOINT_PATH = blocker / "audit_checkpoints.jsonl"
    report = services.report_request(
        user=auditor, kind="model_card", fmt="json", model=owned_model, enqueue=False
    )
    services.report_generate(report_id=report.pk)
    report.refresh_from_db()
    assert report.status == ReportStatus.FAILED
    assert f"The audit checkpoint file {settings.MLGOV_AUDIT_CHECKPOINT_PATH}" in report.error
    assert "cannot be written" in report.error


def test_the_generation_table_of_pdf_reports_prints_the_checkpoint():
    """Lineage, register and audit-extract PDFs share this table (no PDF text tools needed)."""
    record = {
        "sequence": 7,
        "hash": "c" * 64,
        "checkpointed_at": "2026-12-02T10:00:00.000000Z",
        "key_id": "0123456789abcdef",
        "signature": "c2lnbmF0dXJl",
    }
    html = render_to_string(
        "reports/lineage/_generation.html",
        {"meta": {"generated_at": "x", "generated_by": {}, "audit_checkpoint": record}},
    )
    assert "Audit checkpoint" in html
    assert all(str(value) in html for value in record.values())
