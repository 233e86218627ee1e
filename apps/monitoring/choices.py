"""Choice lists of monitoring: metric definitions and signed thresholds."""

from django.db import models


class MetricDirection(models.TextChoices):
    """Which way a metric improves; suggests the breach direction of its thresholds."""

    HIGHER_IS_BETTER = "higher_is_better", "Higher is better"
    LOWER_IS_BETTER = "lower_is_better", "Lower is better"


class BreachDirection(models.TextChoices):
    """When a value breaches a threshold's bounds."""

    BELOW = "below", "Breach when the value falls below the bounds"
    ABOVE = "above", "Breach when the value rises above the bounds"


class Evaluation(models.TextChoices):
    """How observations are reduced to the one value compared with the bounds."""

    LATEST = "latest", "Latest value"
    MEAN = "mean", "Mean over a window"
    MIN = "min", "Minimum over a window"
    MAX = "max", "Maximum over a window"


class ThresholdStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PENDING_SIGNOFF = "pending_signoff", "Pending sign-off"
    ACTIVE = "active", "Active"
    SUPERSEDED = "superseded", "Superseded"
    EXPIRED = "expired", "Expired"
    REJECTED = "rejected", "Rejected"


def default_breach_direction(metric_direction: str) -> str:
    """A metric that should be high breaches when it falls, and the other way round."""
    if metric_direction == MetricDirection.LOWER_IS_BETTER:
        return BreachDirection.ABOVE
    return BreachDirection.BELOW


class IngestionSource(models.TextChoices):
    """Where an ingestion batch came from."""

    UPLOAD = "upload", "Browser upload"
    API = "api", "API"
    COMMAND = "command", "Command line"
    SCHEDULE = "schedule", "Scheduled pull"
    DRIFT = "drift", "Drift run"
    DEMO = "demo", "Demo data"


class FileFormat(models.TextChoices):
    CSV = "csv", "CSV"
    PARQUET = "parquet", "Parquet"
    JSONL = "jsonl", "JSON Lines"
    JSON = "json", "JSON"


class BatchStatus(models.TextChoices):
    """Lifecycle of an ingestion batch. SUCCEEDED, PARTIAL and FAILED are final."""

    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    PARTIAL = "partial", "Loaded with rejected rows"
    FAILED = "failed", "Failed"


class BatchStage(models.TextChoices):
    """What a running batch is doing, for the progress display."""

    WAITING = "waiting", "Waiting for a worker"
    PARSING = "parsing", "Parsing"
    VALIDATING = "validating", "Validating"
    LOADING = "loading", "Loading"
    EVALUATING = "evaluating", "Evaluating thresholds"
    DONE = "done", "Done"


class EvaluationState(models.TextChoices):
    """Outcome of evaluating one threshold for one version."""

    OK = "ok", "OK"
    WARNING = "warning", "Warning"
    CRITICAL = "critical", "Critical"
    INSUFFICIENT = "insufficient", "Insufficient data"


class DriftRunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class DriftColumnKind(models.TextChoices):
    NUMERIC = "numeric", "Numeric"
    CATEGORICAL = "categorical", "Categorical"


class DriftMethod(models.TextChoices):
    """Statistical tests of Evidently's data-drift preset, chosen per column."""

    KS = "ks", "Kolmogorov–Smirnov p-value"
    WASSERSTEIN = "wasserstein", "Wasserstein distance (normed)"
    CHISQUARE = "chisquare", "Chi-square p-value"
    # Evidently tests binary columns of small samples with a two-proportion z-test.
    Z = "z", "Z-test p-value"
    JENSENSHANNON = "jensenshannon", "Jensen–Shannon distance"


class PullFormat(models.TextChoices):
    JSON = "json", "JSON"
    CSV = "csv", "CSV"


# The Celery tasks of monitoring's background jobs (apps/jobs keys its outbox rows by them).
INGEST_TASK = "monitoring.ingest_batch"
DRIFT_TASK = "monitoring.run_drift"
