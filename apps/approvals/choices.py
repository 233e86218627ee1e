"""Choice lists of the approval engine."""

from django.db import models


class ApprovalKind(models.TextChoices):
    THRESHOLD_SIGNOFF = "threshold_signoff", "Threshold sign-off"
    PROMOTION = "promotion", "Promotion to production"
    RISK_TIER_CHANGE = "risk_tier_change", "Risk-tier change"
    VALIDATION_SIGNOFF = "validation_signoff", "Validation sign-off"
    REVIEW_ATTESTATION = "review_attestation", "Periodic-review attestation"
    RETIREMENT = "retirement", "Retirement"
    RISK_ACCEPTANCE = "risk_acceptance", "Finding risk acceptance"
    EMERGENCY_CHANGE = "emergency_change", "Emergency change ratification"


class RequestStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    CHANGES_REQUESTED = "changes_requested", "Changes requested"
    STALE = "stale", "Stale (content changed)"
    WITHDRAWN = "withdrawn", "Withdrawn"


class Verdict(models.TextChoices):
    APPROVE = "approve", "Approve"
    REJECT = "reject", "Reject"
    REQUEST_CHANGES = "request_changes", "Request changes"


class ApproverRole(models.TextChoices):
    """Who fills an approval slot. ``business_owner`` means the model's named business owner."""

    BUSINESS_OWNER = "business_owner", "Named business owner"
    VALIDATOR = "validator", "Validator"
    ADMIN = "admin", "Administrator"
