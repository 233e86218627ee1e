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
