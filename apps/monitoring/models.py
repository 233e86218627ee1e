"""Monitoring: metric definitions, the thresholds business owners sign off, the observations
ingested in batches, their evaluation against ACTIVE thresholds, breaches, and drift runs.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse

from apps.core.fields import StampField
from apps.monitoring import bounds
from apps.monitoring.choices import (
    BatchStage,
    BatchStatus,
    BreachDirection,
    DriftColumnKind,
    DriftMethod,
    DriftRunStatus,
    Evaluation,
    EvaluationState,
    FileFormat,
    IngestionSource,
    MetricDirection,
    PullFormat,
    ThresholdStatus,
)

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
    created_at = StampField(auto_now_add=True)

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
    created_at = StampField(auto_now_add=True)
    updated_at = StampField(auto_now=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(
        null=True, blank=True, help_text="When it was superseded, expired or rejected."
    )

    class Meta:
        ordering = ["metric__name", "segment", "-created_at"]
        indexes = [
            models.Index(fields=["status", "review_by"]),
            # The API's list, newest first: read in order, not sorted from every threshold.
            models.Index(fields=["-created_at", "-id"], name="threshold_newest_first"),
        ]
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


# --- ingestion ------------------------------------------------------------------------------


class AllowedPullHost(models.Model):
    """A host name scheduled pulls may fetch from over HTTPS. Managed by administrators; a
    source whose host is not listed is never fetched."""

    hostname = models.CharField(max_length=253, unique=True)
    note = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = StampField(auto_now_add=True)

    class Meta:
        ordering = ["hostname"]

    def __str__(self) -> str:
        return self.hostname


class MetricSource(models.Model):
    """An HTTPS endpoint a model's metrics are pulled from on a schedule (JSON or CSV in the
    canonical long format)."""

    model = models.ForeignKey(
        "inventory.RegisteredModel", on_delete=models.CASCADE, related_name="metric_sources"
    )
    url = models.URLField(max_length=500)
    format = models.CharField(max_length=8, choices=PullFormat.choices, default=PullFormat.JSON)
    interval_minutes = models.PositiveIntegerField(
        default=60, validators=[MinValueValidator(5)], help_text="How often to pull."
    )
    enabled = models.BooleanField(default=True)
    last_pulled_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = StampField(auto_now_add=True)

    class Meta:
        ordering = ["model__name", "url"]

    def __str__(self) -> str:
        return f"{self.model} ← {self.url}"


def ingestion_upload_to(instance: IngestionBatch, filename: str) -> str:
    return f"ingestion/{instance.sha256[:2]}/{instance.sha256}"


class IngestionBatch(models.Model):
    """One file (or body of JSON rows) of observations, loaded all-or-nothing by a Celery job.

    The same content for the same scope (SHA-256 + scope model) is recognised and not loaded
    twice: at most one batch per checksum and scope is queued, running or loaded.
    """

    source = models.CharField(max_length=10, choices=IngestionSource.choices)
    scope_model = models.ForeignKey(
        "inventory.RegisteredModel",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="ingestion_batches",
        help_text="When set, every row must belong to this model.",
    )
    metric_source = models.ForeignKey(
        MetricSource, null=True, blank=True, on_delete=models.SET_NULL, related_name="batches"
    )
    file = models.FileField(upload_to=ingestion_upload_to, max_length=300, blank=True)
    file_name = models.CharField(max_length=255, blank=True)
    file_format = models.CharField(max_length=8, choices=FileFormat.choices)
    compressed = models.BooleanField(default=False, help_text="The file was gzip-compressed.")
    sha256 = models.CharField(max_length=64)
    size_bytes = models.BigIntegerField(default=0)
    accept_partial = models.BooleanField(
        default=False,
        help_text="Load the valid rows and record the rest as rejected instead of failing.",
    )
    status = models.CharField(
        max_length=10, choices=BatchStatus.choices, default=BatchStatus.QUEUED
    )
    stage = models.CharField(max_length=12, choices=BatchStage.choices, default=BatchStage.WAITING)
    progress = models.PositiveSmallIntegerField(default=0, help_text="Percent done.")
    rows_total = models.PositiveIntegerField(default=0)
    rows_loaded = models.PositiveIntegerField(default=0)
    rows_duplicate = models.PositiveIntegerField(
        default=0, help_text="Valid rows already recorded by an earlier batch (not loaded again)."
    )
    rows_rejected = models.PositiveIntegerField(default=0)
    row_errors = models.JSONField(
        default=list,
        blank=True,
        help_text="The first rejected rows: [{row, column, value, reason}]; all are counted.",
    )
    error = models.TextField(blank=True, help_text="Why the batch failed as a whole.")
    task_id = models.CharField(max_length=64, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = StampField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name_plural = "ingestion batches"
        indexes = [
            models.Index(fields=["status", "created_at"]),
            # Keyset pages of the batch lists, newest first.
            models.Index(fields=["-created_at", "-id"], name="batch_newest_first"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["sha256", "scope_model"],
                condition=Q(status__in=["queued", "running", "succeeded", "partial"])
                & Q(scope_model__isnull=False),
                name="one_live_batch_per_checksum_and_model",
            ),
            models.UniqueConstraint(
                fields=["sha256"],
                condition=Q(status__in=["queued", "running", "succeeded", "partial"])
                & Q(scope_model__isnull=True),
                name="one_live_batch_per_checksum",
            ),
        ]
        permissions = [("ingest_metrics", "Can ingest metric observations")]

    def __str__(self) -> str:
        return f"Batch {self.pk} ({self.file_name or self.get_source_display()})"

    def get_absolute_url(self) -> str:
        return reverse("monitoring:batch_detail", kwargs={"pk": self.pk})

    @property
    def is_final(self) -> bool:
        return self.status in (BatchStatus.SUCCEEDED, BatchStatus.PARTIAL, BatchStatus.FAILED)


class Observation(models.Model):
    """One value of one metric of one model version at one time (optionally for a segment).

    The big table, built for tens of millions of rows. Re-ingesting a row is harmless:
    (version, metric, timestamp, segment) is the primary key and a repeated row is skipped.
    That B-tree leads with (version, metric, timestamp), so it is also the index every series
    read uses; on PostgreSQL a BRIN index covers time (migration 0003). There is no surrogate
    id: a sequence and a second B-tree per row would cost a third of a bulk load and nothing
    refers to single observations (migration 0007).

    The foreign keys are enforced by the ORM (PROTECT) and by the loader, which locks every
    referenced version, metric and batch once per load (``FOR KEY SHARE``, the lock a
    database foreign-key check takes) instead of a trigger checking each of a million rows.
    """

    pk = models.CompositePrimaryKey("version", "metric", "timestamp", "segment")
    version = models.ForeignKey(
        "inventory.ModelVersion",
        on_delete=models.PROTECT,
        related_name="observations",
        db_constraint=False,
        db_index=False,
    )
    metric = models.ForeignKey(
        MetricDefinition,
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    segment = models.CharField(max_length=100, blank=True, default="")
    timestamp = models.DateTimeField()
    value = models.FloatField()
    batch = models.ForeignKey(
        IngestionBatch,
        on_delete=models.PROTECT,
        related_name="observations",
        db_constraint=False,
        db_index=False,
    )

    # The batch index is database-specific (a BRIN on PostgreSQL): migration 0006.

    def __str__(self) -> str:
        return f"{self.metric_id}@{self.timestamp:%Y-%m-%d %H:%M}={self.value:g}"


class IngestionBatchModel(models.Model):
    """A model a batch holds observations of, recorded by the loader when the rows go in.

    A model's batch list reads this (an index step per model) instead of asking the big
    table, for every unscoped batch, whether it holds a row of the model."""

    batch = models.ForeignKey(IngestionBatch, on_delete=models.CASCADE, related_name="+")
    model = models.ForeignKey(
        "inventory.RegisteredModel", on_delete=models.CASCADE, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["model", "batch"], name="one_row_per_batch_and_model")
        ]

    def __str__(self) -> str:
        return f"batch {self.batch_id} holds model {self.model_id}"


class ObservationSeries(models.Model):
    """One series of the store (version, metric, segment): its first and last observation
    time and its latest value, maintained by the loader in the load's transaction.

    The metrics API's latest values, a model's segments and time span, and the series a
    chart reads come from here: a handful of rows per model, whatever the series' length."""

    pk = models.CompositePrimaryKey("version", "metric", "segment")
    version = models.ForeignKey(
        "inventory.ModelVersion",
        on_delete=models.CASCADE,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    metric = models.ForeignKey(
        MetricDefinition,
        on_delete=models.CASCADE,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    segment = models.CharField(max_length=100, blank=True, default="")
    first_at = models.DateTimeField()
    last_at = models.DateTimeField()
    last_value = models.FloatField(help_text="The value observed at last_at.")

    class Meta:
        verbose_name_plural = "observation series"

    def __str__(self) -> str:
        return f"series {self.version_id}/{self.metric_id}/{self.segment or '-'}"


class ObservationRollup(models.Model):
    """Observations reduced to time buckets: count, sum, lowest, highest, first and last
    time per (version, metric, segment, width, bucket), maintained by the loader in the
    load's transaction (``apps/monitoring/ingestion/rollups.py``), rebuilt for existing data
    by ``manage.py rebuild_observation_rollups``.

    ``width`` is 86400 (days) or 3600 (hours); ``bucket`` the Unix time (seconds) the
    bucket starts at, a multiple of the width. Every day of a series has its daily row;
    hourly rows are kept only for the days where some hour holds more than one observation
    (``dense``): on the other days the raw rows are the hourly buckets already, and reading
    them costs no more than reading rollups would."""

    pk = models.CompositePrimaryKey("version", "metric", "width", "bucket", "segment")
    version = models.ForeignKey(
        "inventory.ModelVersion",
        on_delete=models.CASCADE,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    metric = models.ForeignKey(
        MetricDefinition,
        on_delete=models.CASCADE,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    segment = models.CharField(max_length=100, blank=True, default="")
    width = models.IntegerField()
    bucket = models.BigIntegerField()
    count = models.IntegerField()
    total = models.FloatField()
    low = models.FloatField()
    high = models.FloatField()
    first_at = models.DateTimeField()
    last_at = models.DateTimeField()
    dense = models.BooleanField(
        default=False, help_text="Daily rows: the day's hourly rows are stored."
    )

    def __str__(self) -> str:
        return f"rollup {self.version_id}/{self.metric_id}/{self.width}s@{self.bucket}"


# --- evaluation -----------------------------------------------------------------------------


class ThresholdState(models.Model):
    """The latest evaluation of one active threshold for one model version."""

    threshold = models.ForeignKey(Threshold, on_delete=models.CASCADE, related_name="states")
    version = models.ForeignKey(
        "inventory.ModelVersion", on_delete=models.CASCADE, related_name="threshold_states"
    )
    state = models.CharField(max_length=12, choices=EvaluationState.choices)
    value = models.FloatField(null=True, blank=True, help_text="The evaluated value.")
    sample_count = models.PositiveIntegerField(default=0)
    window_start = models.DateTimeField(null=True, blank=True)
    window_end = models.DateTimeField(null=True, blank=True)
    since = models.DateTimeField(help_text="When the threshold entered this state.")
    evaluated_at = models.DateTimeField()
    batch = models.ForeignKey(
        IngestionBatch, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["threshold", "version"], name="one_state_per_version")
        ]
        indexes = [models.Index(fields=["state"])]

    def __str__(self) -> str:
        return f"{self.threshold} [{self.version.version}]: {self.state}"


class Breach(models.Model):
    """A threshold entering warning or critical for a version; ends when it recovers.

    A critical breach opens an incident or joins the open one for its threshold.
    """

    threshold = models.ForeignKey(Threshold, on_delete=models.PROTECT, related_name="breaches")
    version = models.ForeignKey(
        "inventory.ModelVersion", on_delete=models.PROTECT, related_name="breaches"
    )
    state = models.CharField(max_length=12, choices=EvaluationState.choices)
    value = models.FloatField()
    warning_bound = models.FloatField()
    critical_bound = models.FloatField()
    observed_at = models.DateTimeField(help_text="The time of the latest observation evaluated.")
    detected_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True, help_text="When it recovered.")
    batch = models.ForeignKey(
        IngestionBatch, null=True, blank=True, on_delete=models.SET_NULL, related_name="breaches"
    )
    incident = models.ForeignKey(
        "incidents.Incident",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="breaches",
    )

    class Meta:
        ordering = ["-detected_at", "-pk"]
        verbose_name_plural = "breaches"
        indexes = [models.Index(fields=["threshold", "ended_at"])]

    def __str__(self) -> str:
        return f"{self.get_state_display()} breach of {self.threshold} ({self.value:g})"


# --- drift ----------------------------------------------------------------------------------


def drift_upload_to(instance: DriftRun, filename: str) -> str:
    return f"drift/{instance.version_id}/{filename}"


class DriftRun(models.Model):
    """Per-column drift between a reference and a current sample of one version's data,
    computed by a Celery job with the defaults of Evidently's data-drift preset."""

    version = models.ForeignKey(
        "inventory.ModelVersion", on_delete=models.PROTECT, related_name="drift_runs"
    )
    reference_file = models.FileField(upload_to=drift_upload_to, max_length=300)
    reference_name = models.CharField(max_length=255)
    reference_sha256 = models.CharField(max_length=64)
    reference_rows = models.PositiveIntegerField(default=0)
    current_file = models.FileField(upload_to=drift_upload_to, max_length=300)
    current_name = models.CharField(max_length=255)
    current_sha256 = models.CharField(max_length=64)
    current_rows = models.PositiveIntegerField(default=0)
    observed_at = models.DateTimeField(
        help_text="The time the drift observations are recorded at (the current sample's time)."
    )
    status = models.CharField(
        max_length=10, choices=DriftRunStatus.choices, default=DriftRunStatus.QUEUED
    )
    columns_total = models.PositiveIntegerField(default=0)
    columns_drifted = models.PositiveIntegerField(default=0)
    drift_share = models.FloatField(null=True, blank=True)
    dataset_drift = models.BooleanField(null=True, blank=True)
    error = models.TextField(blank=True)
    batch = models.ForeignKey(
        IngestionBatch, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    task_id = models.CharField(max_length=64, blank=True)
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = StampField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        permissions = [("run_drift", "Can run a drift analysis")]

    def __str__(self) -> str:
        return f"Drift run {self.pk} of {self.version}"


class DriftColumn(models.Model):
    """The drift result of one column in a drift run."""

    run = models.ForeignKey(DriftRun, on_delete=models.CASCADE, related_name="columns")
    column = models.CharField(max_length=200)
    kind = models.CharField(max_length=12, choices=DriftColumnKind.choices)
    method = models.CharField(max_length=14, choices=DriftMethod.choices)
    score = models.FloatField(help_text="p-value for KS/chi-square, distance otherwise.")
    threshold = models.FloatField()
    drifted = models.BooleanField()
    psi = models.FloatField()

    class Meta:
        ordering = ["-drifted", "column"]
        constraints = [
            models.UniqueConstraint(fields=["run", "column"], name="one_result_per_column")
        ]

    def __str__(self) -> str:
        return f"{self.column}: {self.method}={self.score:.4g}"
