"""Reports: one immutable record per generated artifact (model card, lineage report, register,
audit extract, evidence pack), with what was asked, by whom, as of when, and the stored file."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

from apps.reports.choices import GENERATOR, ReportFormat, ReportKind, ReportStatus

User = settings.AUTH_USER_MODEL

#: A report in one of these states is final: its row never changes again.
FINAL_STATUSES = frozenset({ReportStatus.DONE, ReportStatus.FAILED})
#: The status changes the generation job may make (running → running: a redelivered job).
TRANSITIONS = frozenset(
    {
        (ReportStatus.QUEUED, ReportStatus.RUNNING),
        (ReportStatus.QUEUED, ReportStatus.FAILED),
        (ReportStatus.RUNNING, ReportStatus.RUNNING),
        (ReportStatus.RUNNING, ReportStatus.DONE),
        (ReportStatus.RUNNING, ReportStatus.FAILED),
    }
)


class ReportImmutableError(Exception):
    """Raised when code tries to change a report other than through its status transitions,
    or to change or remove a finished one."""


class ReportQuerySet(models.QuerySet):
    """Bulk writes would bypass the transition guard of ``Report.save``: refused."""

    def update(self, **kwargs):
        raise ReportImmutableError("Reports are changed only by their generation job.")

    def delete(self):
        raise ReportImmutableError("Reports cannot be deleted.")


def report_upload_to(instance: Report, filename: str) -> str:
    """``reports/<id>/<file name>``: one folder per report, so the path is known before the
    file is written and a second attempt replaces (never duplicates) a half-written one."""
    return f"reports/{instance.pk}/{filename}"


class Report(models.Model):
    """A generated report: what was asked (kind, format, model, scope, as-of), by whom and
    when; then the job's outcome: the stored file with its name, type, size and SHA-256, the
    generator version, the snapshot hash (model cards) and the audit chain head at the as-of;
    and the manifest of all that, signed with the installation's Ed25519 key (empty on reports
    generated before signing existed).

    Immutable: created queued by ``report_request``; then only the generation job moves it
    (queued → running → done or failed, ``save(_transition=True)``). A done or failed report
    never changes again and no report is deleted; downloads always return the stored bytes.
    """

    kind = models.CharField(max_length=20, choices=ReportKind.choices, editable=False)
    format = models.CharField(max_length=10, choices=ReportFormat.choices, editable=False)
    model = models.ForeignKey(
        "inventory.RegisteredModel",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="reports",
        editable=False,
        help_text="The model the report is about; empty for the whole inventory.",
    )
    scope = models.JSONField(
        default=dict,
        blank=True,
        editable=False,
        help_text="Register: {filters: {...}}; audit extract: {start, end} (ISO 8601).",
    )
    as_of = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="Requested as-of time; empty = now."
    )
    effective_as_of = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text="The time the report shows the record at (the requested as-of, or the "
        "moment generation started).",
    )
    requested_by = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="+", editable=False
    )
    requested_at = models.DateTimeField(default=timezone.now, editable=False, db_index=True)
    status = models.CharField(
        max_length=10,
        choices=ReportStatus.choices,
        default=ReportStatus.QUEUED,
        editable=False,
    )
    error = models.TextField(blank=True, editable=False)
    generator = models.CharField(max_length=40, default=GENERATOR, editable=False)
    snapshot_sha256 = models.CharField(max_length=64, blank=True, editable=False)
    audit_head_sequence = models.PositiveBigIntegerField(null=True, blank=True, editable=False)
    audit_head_hash = models.CharField(max_length=64, blank=True, editable=False)
    file = models.FileField(upload_to=report_upload_to, max_length=300, blank=True, editable=False)
    filename = models.CharField(max_length=255, blank=True, editable=False)
    content_type = models.CharField(max_length=120, blank=True, editable=False)
    size = models.BigIntegerField(null=True, blank=True, editable=False)
    sha256 = models.CharField(max_length=64, blank=True, editable=False)
    manifest = models.TextField(
        blank=True,
        editable=False,
        help_text="The signed manifest (JSON, exactly the bytes signed): report id, kind, "
        "format, model, as-of, generator, requester, creation time and the file's SHA-256.",
    )
    signature = models.CharField(
        max_length=100,
        blank=True,
        editable=False,
        help_text="Detached Ed25519 signature over the manifest (base64).",
    )
    signing_key_id = models.CharField(
        max_length=16,
        blank=True,
        editable=False,
        help_text="Id of the signing key (first 16 hex of the SHA-256 of its public key).",
    )
    task_id = models.CharField(max_length=64, blank=True, editable=False)
    attempts = models.PositiveSmallIntegerField(default=0, editable=False)
    started_at = models.DateTimeField(null=True, blank=True, editable=False)
    finished_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = ReportQuerySet.as_manager()

    class Meta:
        ordering = ["-requested_at", "-pk"]
        indexes = [
            models.Index(fields=["requested_by", "requested_at"]),
            models.Index(fields=["model", "requested_at"]),
            models.Index(fields=["status", "requested_at"]),
        ]
        permissions = [
            ("generate_model_report", "Can generate a model card or a model's lineage report"),
            ("generate_inventory_report", "Can generate the register or the inventory lineage"),
            ("generate_audit_report", "Can generate audit extracts and evidence packs"),
            ("view_model_card", "Can read a model card in the browser"),
            ("view_model_reports", "Can open a model's Reports tab"),
        ]

    def __str__(self) -> str:
        subject = self.model.slug if self.model_id else "inventory"
        return f"Report {self.pk}: {self.get_kind_display()} ({self.format}) of {subject}"

    def save(self, *args, **kwargs):
        transition = kwargs.pop("_transition", False)
        if self.pk is not None or not self._state.adding:
            if not transition:
                raise ReportImmutableError(
                    "Reports are changed only by their generation job (report_generate)."
                )
            loaded = getattr(self, "_loaded_status", None)
            if loaded in FINAL_STATUSES:
                raise ReportImmutableError(
                    f"Report {self.pk} is {loaded}; it can no longer change."
                )
            if (loaded, self.status) not in TRANSITIONS:
                raise ReportImmutableError(
                    f"Report {self.pk} cannot go from {loaded} to {self.status}."
                )
        super().save(*args, **kwargs)
        self._loaded_status = self.status

    def get_absolute_url(self) -> str:
        return reverse("reports:report_detail", kwargs={"pk": self.pk})

    def delete(self, *args, **kwargs):
        raise ReportImmutableError("Reports cannot be deleted.")

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        # The status as stored: what the transition guard of ``save`` compares with.
        instance._loaded_status = instance.__dict__.get("status")
        return instance

    def refresh_from_db(self, *args, **kwargs):
        super().refresh_from_db(*args, **kwargs)
        self._loaded_status = self.status

    def get_download_url(self) -> str:
        return reverse("reports:report_download", kwargs={"pk": self.pk})

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def is_done(self) -> bool:
        return self.status == ReportStatus.DONE

    @property
    def is_signed(self) -> bool:
        return bool(self.manifest and self.signature and self.signing_key_id)

    def get_manifest_url(self) -> str:
        return reverse("reports:report_manifest", kwargs={"pk": self.pk})

    def get_signature_url(self) -> str:
        return reverse("reports:report_signature", kwargs={"pk": self.pk})

    @property
    def audit_chain_head(self) -> dict | None:
        if self.audit_head_sequence is None:
            return None
        return {"sequence": self.audit_head_sequence, "hash": self.audit_head_hash}
