"""Periodic reviews, their cadence per tier, validation findings and the reminder log."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse

from apps.core.fields import StampField
from apps.inventory.choices import RiskTier
from apps.reviews.choices import (
    FindingStatus,
    ReminderKind,
    ReviewOutcome,
    ReviewStatus,
    Severity,
)

User = settings.AUTH_USER_MODEL


class ReviewCadence(models.Model):
    """How often models of one risk tier are reviewed (Tier 1: 12 months by default)."""

    tier = models.PositiveSmallIntegerField(choices=RiskTier.choices, unique=True)
    months = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(120)]
    )
    updated_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT)
    updated_at = StampField(auto_now=True)

    class Meta:
        ordering = ["tier"]

    def __str__(self) -> str:
        return f"Tier {self.tier}: every {self.months} months"


class Review(models.Model):
    """A periodic review of one model: scope, outcome and notes, attested through approvals."""

    model = models.ForeignKey(
        "inventory.RegisteredModel", on_delete=models.PROTECT, related_name="reviews"
    )
    reviewer = models.ForeignKey(User, on_delete=models.PROTECT, related_name="reviews")
    scope = models.TextField()
    outcome = models.CharField(max_length=24, choices=ReviewOutcome.choices, blank=True)
    notes = models.TextField(blank=True)
    status = models.CharField(
        max_length=16, choices=ReviewStatus.choices, default=ReviewStatus.OPEN
    )
    due_date = models.DateField(null=True, blank=True, help_text="The review date it answers.")
    reviewed_on = models.DateField(null=True, blank=True)
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = StampField(auto_now_add=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    attested_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"Review of {self.model} #{self.pk}"

    def get_absolute_url(self) -> str:
        return reverse("reviews:review_detail", kwargs={"pk": self.pk})

    @property
    def is_editable(self) -> bool:
        return self.status in (ReviewStatus.OPEN, ReviewStatus.REJECTED)


class Finding(models.Model):
    """A validation or review finding: what is wrong, how bad, who fixes it by when.

    ``evidence_links`` holds one URL per line (remediation evidence the owner supplies).
    """

    model = models.ForeignKey(
        "inventory.RegisteredModel", on_delete=models.PROTECT, related_name="findings"
    )
    review = models.ForeignKey(
        Review, null=True, blank=True, on_delete=models.PROTECT, related_name="findings"
    )
    title = models.CharField(max_length=200)
    severity = models.CharField(max_length=16, choices=Severity.choices)
    description = models.TextField()
    owner = models.ForeignKey(User, on_delete=models.PROTECT, related_name="owned_findings")
    due_date = models.DateField()
    status = models.CharField(
        max_length=16, choices=FindingStatus.choices, default=FindingStatus.OPEN
    )
    evidence = models.TextField(blank=True)
    evidence_links = models.TextField(blank=True, help_text="One URL per line.")
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = StampField(auto_now_add=True)
    updated_at = StampField(auto_now=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["due_date", "pk"]
        indexes = [models.Index(fields=["status", "due_date"])]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("reviews:finding_detail", kwargs={"pk": self.pk})

    @property
    def links(self) -> list[str]:
        return [line.strip() for line in self.evidence_links.splitlines() if line.strip()]


class ReminderLog(models.Model):
    """Each reminder or escalation the daily scan sent, so it is never sent twice.

    ``threshold``: days before the due date for reminders, days overdue for escalations.
    """

    model = models.ForeignKey(
        "inventory.RegisteredModel", on_delete=models.CASCADE, related_name="+"
    )
    finding = models.ForeignKey(
        Finding, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(max_length=24, choices=ReminderKind.choices)
    due_date = models.DateField()
    threshold = models.IntegerField()
    sent_at = StampField(auto_now_add=True)

    class Meta:
        ordering = ["-sent_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["model", "kind", "due_date", "threshold"],
                condition=Q(finding__isnull=True),
                name="one_review_reminder_per_step",
            ),
            models.UniqueConstraint(
                fields=["finding", "kind", "due_date", "threshold"],
                condition=Q(finding__isnull=False),
                name="one_finding_reminder_per_step",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.due_date} ({self.threshold})"
