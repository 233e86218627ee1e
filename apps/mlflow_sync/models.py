"""MLflow registry sync: connections an administrator configures, the runs of each sync,
and the links that tie MLflow's registered models and versions to mlgov's inventory."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse

from apps.core.fields import StampField
from apps.mlflow_sync.choices import RunStatus, RunTrigger
from apps.mlflow_sync.mapping import DEFAULT_MARKERS

User = settings.AUTH_USER_MODEL

env_name_validator = RegexValidator(
    r"^[A-Z_][A-Z0-9_]{0,127}$",
    "The NAME of an environment variable (upper case letters, digits, underscores), "
    "e.g. MLGOV_MLFLOW_TOKEN; never the secret itself.",
)


#: What an administrator sets on a connection (the admin form, the services, the audit).
CONNECTION_FIELDS = (
    "name",
    "tracking_url",
    "credential_env",
    "model_patterns",
    "serving_markers",
    "monitoring_tag",
    "schedule_minutes",
    "business_unit",
    "run_as",
    "enabled",
)


class MlflowConnection(models.Model):
    """An MLflow tracking server whose model registry mlgov keeps in step.

    The credential is never stored: ``credential_env`` names the environment variable that
    holds it (a token, or ``user:password``). The sync acts as ``run_as``, a service user that
    appears in the audit trail and holds the discovered models until they are claimed.
    """

    name = models.CharField(max_length=100, unique=True)
    tracking_url = models.URLField("tracking URL", max_length=300)
    credential_env = models.CharField(
        "credential variable",
        max_length=128,
        blank=True,
        validators=[env_name_validator],
        help_text="Name of the environment variable holding a token or user:password.",
    )
    model_patterns = models.TextField(
        default="*",
        help_text="Registered model names to take, one pattern per line (fraud-*, *).",
    )
    serving_markers = models.TextField(
        default="\n".join(DEFAULT_MARKERS),
        help_text="What marks a version as serving, one per line: alias:NAME, stage:NAME, "
        "tag:KEY or tag:KEY=VALUE.",
    )
    monitoring_tag = models.CharField(
        max_length=250,
        default="mlgov.monitoring_run",
        help_text="A version tag with this key names the run whose metrics over time are "
        "ingested as the version's observations.",
    )
    schedule_minutes = models.PositiveIntegerField(
        default=60,
        validators=[MinValueValidator(5), MaxValueValidator(7 * 24 * 60)],
        help_text="Minutes between scheduled syncs.",
    )
    business_unit = models.ForeignKey(
        "inventory.BusinessUnit",
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The unit discovered models are filed under until claimed.",
    )
    run_as = models.ForeignKey(
        User,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="acts as",
        help_text="The service user (model owner role) the sync acts as.",
    )
    enabled = models.BooleanField(default=True)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = StampField(auto_now_add=True)
    updated_at = StampField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "MLflow connection"

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("mlflow_sync:connection_detail", kwargs={"pk": self.pk})


class SyncRun(models.Model):
    """One sync of a connection: a job with its counts and the refusals with reasons."""

    connection = models.ForeignKey(MlflowConnection, on_delete=models.CASCADE, related_name="runs")
    trigger = models.CharField(max_length=16, choices=RunTrigger.choices)
    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.QUEUED)
    requested_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = StampField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    seen = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    refused = models.PositiveIntegerField(default=0)
    refusals = models.JSONField(default=list, blank=True, help_text="[{item, reason}]")
    notes = models.JSONField(default=list, blank=True, help_text="Incidents, findings, batches.")
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-pk"]
        indexes = [models.Index(fields=["connection", "-id"], name="mlflow_run_newest")]
        constraints = [
            # At most one queued or running sync per connection.
            models.UniqueConstraint(
                fields=["connection"],
                condition=Q(status__in=["queued", "running"]),
                name="mlflow_one_live_run",
            )
        ]

    def __str__(self) -> str:
        return f"{self.connection} sync #{self.pk}"

    def get_absolute_url(self) -> str:
        return reverse("mlflow_sync:run_detail", kwargs={"pk": self.pk})


class ModelLink(models.Model):
    """An MLflow registered model (by name, on one connection) and its inventory record."""

    connection = models.ForeignKey(
        MlflowConnection, on_delete=models.PROTECT, related_name="model_links"
    )
    mlflow_name = models.CharField(max_length=500)
    model = models.OneToOneField(
        "inventory.RegisteredModel", on_delete=models.PROTECT, related_name="mlflow_link"
    )
    tags = models.JSONField(default=dict, blank=True)
    aliases = models.JSONField(default=dict, blank=True, help_text="alias → version")
    last_updated_ms = models.BigIntegerField(default=0)
    created_at = StampField(auto_now_add=True)

    class Meta:
        ordering = ["mlflow_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "mlflow_name"], name="mlflow_one_link_per_name"
            )
        ]

    def __str__(self) -> str:
        return f"{self.connection}: {self.mlflow_name}"


class VersionLink(models.Model):
    """An MLflow model version and the mlgov version recorded from it, with what the
    inventory's version does not hold: run, source, signature, tags, aliases."""

    model_link = models.ForeignKey(ModelLink, on_delete=models.CASCADE, related_name="versions")
    mlflow_version = models.CharField(max_length=64)
    version = models.OneToOneField(
        "inventory.ModelVersion", on_delete=models.PROTECT, related_name="mlflow_link"
    )
    run_id = models.CharField(max_length=64, blank=True)
    source = models.CharField(max_length=1000, blank=True)
    artifact_uri = models.CharField(max_length=1000, blank=True)
    digest = models.CharField(max_length=64)
    digest_covers = models.CharField(
        max_length=16, default="files", help_text="files, or metadata when unreadable"
    )
    signature = models.JSONField(default=dict, blank=True)
    input_example = models.TextField(blank=True)
    tags = models.JSONField(default=dict, blank=True)
    aliases = models.JSONField(default=list, blank=True)
    stage = models.CharField(max_length=32, blank=True)
    last_updated_ms = models.BigIntegerField(default=0)
    # The digest MLflow's files had when a change to an approved version was last reported
    # (one finding per change, not one per sync).
    reported_digest = models.CharField(max_length=64, blank=True)
    finding = models.ForeignKey(
        "reviews.Finding", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # When a sync last read the version's files (digest, URI); a version not yet approved is
    # read again ``MLGOV_MLFLOW_RECHECK_MINUTES`` later.
    checked_at = models.DateTimeField(null=True, blank=True)
    # Observations ingested from the monitoring run: the newest timestamp (ms) per metric.
    metrics_through = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["model_link", "mlflow_version"]
        constraints = [
            models.UniqueConstraint(
                fields=["model_link", "mlflow_version"], name="mlflow_one_link_per_version"
            )
        ]

    def __str__(self) -> str:
        return f"{self.model_link.mlflow_name} v{self.mlflow_version}"


class ServingCondition(models.Model):
    """A version MLflow marks as serving without an approved promotion in mlgov: the
    incident it opened, and when and why the condition ended (marker gone, promotion
    approved)."""

    version_link = models.ForeignKey(
        VersionLink, on_delete=models.CASCADE, related_name="serving_conditions"
    )
    markers = models.JSONField(default=list)
    incident = models.ForeignKey(
        "incidents.Incident", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    opened_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_because = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-opened_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["version_link"],
                condition=Q(ended_at__isnull=True),
                name="mlflow_one_open_condition",
            )
        ]

    def __str__(self) -> str:
        return f"{self.version_link} served ungoverned since {self.opened_at:%Y-%m-%d}"
