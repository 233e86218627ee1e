"""Report kinds, formats and states, and which formats each kind offers."""

from __future__ import annotations

from django.db import models

import mlgov

GENERATOR = f"mlgov {mlgov.__version__}"


class ReportKind(models.TextChoices):
    MODEL_CARD = "model_card", "Model card"
    LINEAGE = "lineage", "Lineage report"
    REGISTER = "register", "Inventory register"
    AUDIT_EXTRACT = "audit_extract", "Audit extract"
    EVIDENCE_PACK = "evidence_pack", "Evidence pack"


class ReportFormat(models.TextChoices):
    PDF = "pdf", "PDF (PDF/A-3b)"
    HTML = "html", "HTML"
    MARKDOWN = "markdown", "Markdown (Hugging Face model card)"
    MCT_JSON = "mct_json", "JSON (Model Card Toolkit v0.0.2)"
    JSON = "json", "JSON (mlgov)"
    CSV = "csv", "CSV"
    XLSX = "xlsx", "Excel (XLSX)"
    ZIP = "zip", "ZIP"


class ReportStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


F = ReportFormat
KIND_FORMATS: dict[str, tuple[str, ...]] = {
    ReportKind.MODEL_CARD: (F.PDF, F.HTML, F.MARKDOWN, F.MCT_JSON, F.JSON),
    ReportKind.LINEAGE: (F.PDF, F.JSON),
    ReportKind.REGISTER: (F.CSV, F.XLSX, F.PDF),
    ReportKind.AUDIT_EXTRACT: (F.CSV, F.PDF),
    ReportKind.EVIDENCE_PACK: (F.ZIP,),
}

# Kinds about one model; the others cover the inventory (the user's view of it) or a period.
MODEL_KINDS = frozenset({ReportKind.MODEL_CARD})
OPTIONAL_MODEL_KINDS = frozenset(
    {ReportKind.LINEAGE, ReportKind.AUDIT_EXTRACT, ReportKind.EVIDENCE_PACK}
)

#: The Celery task of the report job (apps/jobs keys its outbox rows by it).
REPORT_TASK = "reports.generate_report"
