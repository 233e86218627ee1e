"""Monitoring: metric definitions and the thresholds business owners sign off.

Observations (the monitoring issue) will be compared with ACTIVE thresholds only.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse

from apps.monitoring import bounds
from apps.monitoring.choices import BreachDirection, Evaluation, MetricDirection, ThresholdStatus

User = settings.AUTH_USER_MODEL

metric_name_validator = RegexValidator(
    r"^[a-z0-9]+(?:[._-][a-z0-9]+)*$",
    "Use lowercase letters and digits separated by single dots, hyphens or underscores, "
    "e.g. auc or drift.psi.age.",
)
segment_validator = RegexValidator(
    r"^[A-Za-z0-9]+(?:[._:=/-][A-Za-z0-9]+)*$",
    "Use letters, digits and single . _ : = / - separators, e.g. region=eu.",
)


class MetricDefinition(models.Model):
    """A metric models are watched on (e.g. ``auc``, ``drift.psi.age``), with its unit and
    which way is better."""

    name = models.CharField(max_length=100, unique=True, validators=[metric_name_validator])
    description = models.TextField(blank=True)
    unit = models.CharField(max_length=40, blank=True)
    direction = models.CharField(max_length=20, choices=MetricDirection.choices)
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Threshold(models.Model):
    """Warning and critical bounds of one metric of a model (optionally one version and one
    segment), how observations are evaluated against them, and why.

    Lifecycle: draft → pending sign-off → active → superseded / expired, or rejected. Only
    drafts are edited; an active threshold is changed by a revision (a new draft that
    ``supersedes`` it) and keeps applying until the revision is signed off. At most one
    threshold is active per model, version, segment and metric.
    """

    model = models.ForeignKey(
        "inventory.RegisteredModel", on_delete=models.PROTECT, related_name="thresholds"
    )
    version = models.ForeignKey(
        "inventory.ModelVersion",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="thresholds",
        help_text="Leave empty to apply to every version of the model.",
    )
    segment = models.CharField(
        max_length=100,
        blank=True,
        validators=[segment_validator],
        help_text="Leave empty for the whole population, or name a segment, e.g. region=eu.",
    )
    metric = models.ForeignKey(MetricDefinition, on_delete=models.PROTECT, related_name="+")
    direction = models.CharField(max_length=8, choices=BreachDirection.choices)
    warning_bound = models.FloatField()
    critical_bound = models.FloatField()
    evaluation = models.CharField(
        max_length=8, choices=Evaluation.choices, default=Evaluation.LATEST
    )
    window_days = models.PositiveSmallIntegerField(
        "window (days)",
        null=True,
        blank=True,
        help_text="For a mean, minimum or maximum: how many days of observations.",
    )
    min_samples = models.PositiveIntegerField(
        "minimum sample count",
        default=1,
        validators=[MinValueValidator(1)],
        help_text="Fewer observations than this are not evaluated.",
    )
    rationale = models.TextField()
    review_by = models.DateField(help_text="The threshold expires after this date.")
    status = models.CharField(
        max_length=16, choices=ThresholdStatus.choices, default=ThresholdStatus.DRAFT
    )
    supersedes = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="revisions",
        help_text="The threshold this one replaces once signed off.",
    )
    signoff_request = models.ForeignKey(
        "approvals.ApprovalRequest",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(
        null=True, blank=True, help_text="When it was superseded, expired or rejected."
    )

    class Meta:
        ordering = ["metric__name", "segment", "-created_at"]
        indexes = [models.Index(fields=["status", "review_by"])]
        constraints = [
            # Two partial constraints because NULL versions never collide in a unique index.
            models.UniqueConstraint(
                fields=["model", "version", "segment", "metric"],
                condition=Q(status="active", version__isnull=False),
                name="one_active_threshold_per_version",
            ),
            models.UniqueConstraint(
                fields=["model", "segment", "metric"],
                condition=Q(status="active", version__isnull=True),
                name="one_active_threshold_per_model",
            ),
            models.CheckConstraint(
                condition=(Q(direction="below") & Q(critical_bound__lt=models.F("warning_bound")))
                | (Q(direction="above") & Q(critical_bound__gt=models.F("warning_bound"))),
                name="critical_beyond_warning",
            ),
        ]
        permissions = [
            ("submit_threshold", "Can submit a threshold for sign-off"),
            ("revise_threshold", "Can revise an active threshold"),
        ]

    def __str__(self) -> str:
        where = " / ".join(p for p in (self.version and self.version.version, self.segment) if p)
        return f"{self.metric} of {self.model}" + (f" ({where})" if where else "")

    def get_absolute_url(self) -> str:
        return reverse(
            "monitoring:threshold_detail", kwargs={"slug": self.model.slug, "pk": self.pk}
        )

    @property
    def is_editable(self) -> bool:
        return self.status in (ThresholdStatus.DRAFT, ThresholdStatus.PENDING_SIGNOFF)

    @property
    def scope_key(self) -> tuple:
        """What at most one active threshold may cover."""
        return (self.model_id, self.version_id, self.segment, self.metric_id)

    def clean(self) -> None:
        errors = {
            **bounds.bound_errors(self.direction, self.warning_bound, self.critical_bound),
            **bounds.evaluation_errors(self.evaluation, self.window_days, self.min_samples),
        }
        if self.version_id and self.model_id and self.version.model_id != self.model_id:
            errors["version"] = "Choose a version of this model."
        if errors:
            raise ValidationError(errors)
