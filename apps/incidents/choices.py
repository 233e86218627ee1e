"""Choice lists of the incident register."""

from django.db import models


class Severity(models.TextChoices):
    SEV1 = "sev1", "SEV1 (critical)"
    SEV2 = "sev2", "SEV2 (major)"
    SEV3 = "sev3", "SEV3 (moderate)"
    SEV4 = "sev4", "SEV4 (minor)"


class IncidentStatus(models.TextChoices):
    """open → investigating → mitigated → resolved → closed, with reopen back to open."""

    OPEN = "open", "Open"
    INVESTIGATING = "investigating", "Investigating"
    MITIGATED = "mitigated", "Mitigated"
    RESOLVED = "resolved", "Resolved"
    CLOSED = "closed", "Closed"


#: Statuses in which an incident is still being worked on; a threshold has at most one.
ACTIVE_STATUSES = (IncidentStatus.OPEN, IncidentStatus.INVESTIGATING, IncidentStatus.MITIGATED)


class SeriousCategory(models.TextChoices):
    """EU AI Act Art. 3(49): what makes an incident serious (reportable under Art. 73)."""

    NONE = "", "Not a serious incident"
    DEATH = "death", "(a) Death of a person"
    HEALTH = "health", "(a) Serious harm to a person's health"
    CRITICAL_INFRASTRUCTURE = (
        "critical_infrastructure",
        "(b) Serious and irreversible disruption of critical infrastructure",
    )
    FUNDAMENTAL_RIGHTS = (
        "fundamental_rights",
        "(c) Infringement of Union law protecting fundamental rights",
    )
    PROPERTY_ENVIRONMENT = (
        "property_environment",
        "(d) Serious harm to property or the environment",
    )


class EventKind(models.TextChoices):
    """Entries of an incident's timeline."""

    CREATED = "created", "Opened"
    COMMENT = "comment", "Comment"
    STATUS = "status", "Status change"
    BREACH = "breach", "Breach"
    RECOVERY = "recovery", "Recovery"
    UPDATE = "update", "Details updated"
    ASSIGNMENT = "assignment", "Assignment"
    ROLLBACK = "rollback", "Rollback"
    REPORTED = "reported", "Reported to the authority"
