"""Choice lists of the OpenLineage intake."""

from django.db import models


class EventStatus(models.TextChoices):
    """What became of a received RunEvent."""

    APPLIED = "applied", "Applied"
    UNMAPPED = "unmapped", "Waiting for its job to be mapped"
    RECORDED = "recorded", "Recorded (nothing to apply)"
    REFUSED = "refused", "Not applied"


class MappedBy(models.TextChoices):
    """How a job came to name its model."""

    NONE = "", "Not mapped"
    FACET = "facet", "mlgov facet"
    RULE = "rule", "Naming rule"
    ADMIN = "admin", "Administrator"


class DatasetUse(models.TextChoices):
    INPUT = "input", "Read by the model's jobs"
    OUTPUT = "output", "Written by the model's jobs"
