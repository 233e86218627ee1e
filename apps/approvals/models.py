"""Approval requests and the signed decisions on them."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse

from apps.accounts.choices import SignatureMethod
from apps.approvals.choices import ApprovalKind, ApproverRole, RequestStatus, Verdict

User = settings.AUTH_USER_MODEL


class ApprovalRequest(models.Model):
    """A request to approve one exact piece of content.

    ``content`` is frozen at request time as canonical JSON with its SHA-256; if the subject's
    current content no longer hashes the same, the request is stale and cannot be approved.
    ``required_slots`` is the policy applied when the request was made (kind and tier then);
    ``open_slots`` those no approval has filled yet, kept by the engine with each decision so
    that what waits for whom is read from the request alone (the navigation badge).
    """

    kind = models.CharField(max_length=32, choices=ApprovalKind.choices)
    model = models.ForeignKey(
        "inventory.RegisteredModel", on_delete=models.PROTECT, related_name="approval_requests"
    )
    subject_type = models.CharField(max_length=100)
    subject_id = models.CharField(max_length=64)
    title = models.CharField(max_length=300)
    justification = models.TextField(blank=True)
    content = models.JSONField()
    content_sha256 = models.CharField(max_length=64)
    tier_at_request = models.PositiveSmallIntegerField(null=True, blank=True)
    required_slots = models.JSONField()
    open_slots = models.JSONField(default=list, blank=True)
    status = models.CharField(
        max_length=24, choices=RequestStatus.choices, default=RequestStatus.PENDING
    )
    requested_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    closing_note = models.TextField(blank=True)

    #: Lists of slot codes in a JSON field: the audit trail reads their items by these labels.
    audit_value_choices = {
        "required_slots": ApproverRole.choices,
        "open_slots": ApproverRole.choices,
    }

    class Meta:
        ordering = ["-requested_at"]
        indexes = [
            models.Index(fields=["status", "kind"]),
            # Lists newest first (the API, a model's tab) without sorting the whole history.
            models.Index(fields=["-requested_at"], name="approval_newest_first"),
            # A model's latest approval (the register): one index step per model.
            models.Index(fields=["model", "status", "closed_at"], name="approval_model_closed"),
            # The inbox and the badge: pending requests, oldest first.
            models.Index(
                fields=["requested_at", "id"],
                condition=Q(status="pending"),
                name="approval_pending_by_age",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "subject_type", "subject_id"],
                condition=Q(status="pending"),
                name="one_pending_request_per_subject",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.title}"

    def get_absolute_url(self) -> str:
        return reverse("approvals:request_detail", kwargs={"pk": self.pk})

    @property
    def is_open(self) -> bool:
        return self.status == RequestStatus.PENDING


class Decision(models.Model):
    """An approver's signed decision: who, when, which content hash, in which capacity, and
    what the signature means. Made after an electronic signature: the password re-entered,
    or a fresh re-authentication at the identity provider, whose issuer and ``auth_time``
    are kept (``apps.accounts.signatures``)."""

    request = models.ForeignKey(ApprovalRequest, on_delete=models.PROTECT, related_name="decisions")
    approver = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    slot = models.CharField(max_length=24, choices=ApproverRole.choices)
    verdict = models.CharField(max_length=24, choices=Verdict.choices)
    comment = models.TextField(blank=True)
    content_sha256 = models.CharField(max_length=64)
    meaning = models.TextField()
    signed_at = models.DateTimeField()
    signature_method = models.CharField(
        max_length=16, choices=SignatureMethod.choices, default=SignatureMethod.PASSWORD
    )
    signature_issuer = models.CharField(max_length=500, blank=True)
    signature_auth_time = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["signed_at"]
        constraints = [
            models.UniqueConstraint(fields=["request", "approver"], name="one_decision_per_person")
        ]

    def __str__(self) -> str:
        return f"{self.approver} {self.get_verdict_display().lower()} ({self.get_slot_display()})"

    @property
    def signature_label(self) -> str:
        """How the decision was signed, as pages and reports say it."""
        if self.signature_method == SignatureMethod.PROVIDER:
            when = self.signature_auth_time.isoformat() if self.signature_auth_time else "?"
            return f"re-authenticated at {self.signature_issuer} (auth_time {when})"
        return "password re-entered"


class GateOverride(models.Model):
    """An administrator's audited lifting of a gate (e.g. an overdue review blocking promotion)."""

    class Gate(models.TextChoices):
        OVERDUE_REVIEW = "overdue_review", "Overdue periodic review blocks promotion"

    model = models.ForeignKey(
        "inventory.RegisteredModel", on_delete=models.PROTECT, related_name="gate_overrides"
    )
    gate = models.CharField(max_length=32, choices=Gate.choices)
    reason = models.TextField()
    lifted_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    lifted_at = models.DateTimeField()
    expires_at = models.DateTimeField()

    class Meta:
        ordering = ["-lifted_at"]

    def __str__(self) -> str:
        return f"{self.get_gate_display()} lifted for {self.model}"
