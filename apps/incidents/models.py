"""The incident register: what went wrong with a model, how serious it is, and what was done.

A critical threshold breach opens an incident (or joins the one already open for that
threshold); incidents can also be opened by hand. Serious incidents (EU AI Act Art. 3(49))
carry a reporting deadline counted from the awareness time (Art. 73).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse

from apps.core.fields import StampField
from apps.incidents.choices import EventKind, IncidentStatus, SeriousCategory, Severity

User = settings.AUTH_USER_MODEL


class Incident(models.Model):
    """One incident of one model."""

    reference = models.CharField(max_length=20, unique=True, help_text="e.g. INC-2026-0007")
    model = models.ForeignKey(
        "inventory.RegisteredModel", on_delete=models.PROTECT, related_name="incidents"
    )
    title = models.CharField(max_length=200)
    severity = models.CharField(max_length=4, choices=Severity.choices)
    status = models.CharField(
        max_length=14, choices=IncidentStatus.choices, default=IncidentStatus.OPEN
    )
    description = models.TextField(blank=True)
    impact = models.TextField(blank=True)
    root_cause = models.TextField(blank=True)
    corrective_actions = models.TextField(blank=True)
    threshold = models.ForeignKey(
        "monitoring.Threshold",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="incidents",
        help_text="The threshold whose critical breach opened it, if any.",
    )
    affected_versions = models.ManyToManyField(
        "inventory.ModelVersion", blank=True, related_name="incidents"
    )
    assignee = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="assigned_incidents"
    )
    detected_at = models.DateTimeField()
    awareness_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the organisation became aware it is (likely) serious; "
        "the Art. 73 reporting clock starts here.",
    )
    serious_category = models.CharField(
        max_length=24, choices=SeriousCategory.choices, blank=True, default=""
    )
    widespread = models.BooleanField(
        default=False,
        help_text="A widespread infringement (Art. 3(61)): the two-day deadline applies.",
    )
    reporting_deadline = models.DateTimeField(null=True, blank=True)
    reported_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When it was reported to the market surveillance authority.",
    )
    rollback_request = models.ForeignKey(
        "approvals.ApprovalRequest",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The after-the-fact approval of an emergency rollback.",
    )
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = StampField(auto_now_add=True)
    updated_at = StampField(auto_now=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-detected_at", "-pk"]
        indexes = [
            models.Index(fields=["status", "severity"]),
            models.Index(fields=["reporting_deadline"]),
            # The list's order: a page is the first rows of a backward index scan.
            models.Index(fields=["detected_at", "id"], name="incident_detected_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["threshold"],
                condition=Q(status__in=["open", "investigating", "mitigated"])
                & Q(threshold__isnull=False),
                name="one_active_incident_per_threshold",
            ),
        ]
        permissions = [
            ("rollback_incident", "Can roll a model back from an incident"),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.title}"

    def get_absolute_url(self) -> str:
        return reverse("incidents:incident_detail", kwargs={"reference": self.reference})

    @property
    def is_serious(self) -> bool:
        return bool(self.serious_category)


class IncidentEvent(models.Model):
    """One entry of an incident's timeline: a comment, a status change, a breach or recovery."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=12, choices=EventKind.choices)
    actor = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    at = models.DateTimeField()
    text = models.TextField(blank=True)
    from_status = models.CharField(max_length=14, choices=IncidentStatus.choices, blank=True)
    to_status = models.CharField(max_length=14, choices=IncidentStatus.choices, blank=True)
    breach = models.ForeignKey(
        "monitoring.Breach", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.incident.reference} {self.get_kind_display()} at {self.at:%Y-%m-%d %H:%M}"
