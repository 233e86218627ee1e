"""Choice lists of notifications and webhooks."""

from django.db import models


class Event(models.TextChoices):
    """What happened. The value is the webhook's ``X-Mlgov-Event`` header."""

    APPROVAL_REQUESTED = "approval.requested", "Approval requested"
    APPROVAL_DECIDED = "approval.decided", "Approval decided"
    REVIEW_DUE = "review.due", "Periodic review due"
    REVIEW_OVERDUE = "review.overdue", "Periodic review overdue"
    FINDING_OVERDUE = "finding.overdue", "Finding overdue"
    THRESHOLD_WARNING = "threshold.warning", "Threshold in warning"
    INCIDENT_OPENED = "incident.opened", "Incident opened"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RETRYING = "retrying", "Retrying"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"
