"""Choice lists of periodic reviews and findings."""

from django.db import models


class ReviewOutcome(models.TextChoices):
    SATISFACTORY = "satisfactory", "Satisfactory"
    REMEDIATION_NEEDED = "remediation_needed", "Remediation needed"
    RETIRE = "retire", "Retire"


class ReviewStatus(models.TextChoices):
    OPEN = "open", "Open"
    SUBMITTED = "submitted", "Submitted for attestation"
    ATTESTED = "attested", "Attested"
    REJECTED = "rejected", "Returned (attestation refused)"


class Severity(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    CRITICAL = "critical", "Critical"


class FindingStatus(models.TextChoices):
    OPEN = "open", "Open"
    REMEDIATED = "remediated", "Remediated"
    RISK_ACCEPTED = "risk_accepted", "Risk accepted"
    CLOSED = "closed", "Closed"


class ReminderKind(models.TextChoices):
    REVIEW_REMINDER = "review_reminder", "Review reminder"
    REVIEW_ESCALATION = "review_escalation", "Review escalation"
    FINDING_OVERDUE = "finding_overdue", "Finding overdue"
