"""Choice lists of the inventory domain."""

from django.db import models


class RiskTier(models.IntegerChoices):
    TIER_1 = 1, "Tier 1 (high)"
    TIER_2 = 2, "Tier 2 (medium)"
    TIER_3 = 3, "Tier 3 (low)"


class EUAIActClass(models.TextChoices):
    UNASSESSED = "unassessed", "Not yet assessed"
    PROHIBITED = "prohibited", "Prohibited practice (Art. 5)"
    HIGH_RISK = "high_risk", "High-risk (Annex III)"
    LIMITED = "limited", "Limited risk (transparency, Art. 50)"
    MINIMAL = "minimal", "Minimal risk"


class AnnexIIIPoint(models.TextChoices):
    """EU AI Act Annex III high-risk areas, by point."""

    NONE = "", "—"
    P1A = "1(a)", "1(a) Remote biometric identification"
    P1B = "1(b)", "1(b) Biometric categorisation by sensitive attributes"
    P1C = "1(c)", "1(c) Emotion recognition"
    P2 = "2", "2 Critical infrastructure safety components"
    P3A = "3(a)", "3(a) Education: access or admission"
    P3B = "3(b)", "3(b) Education: evaluating learning outcomes"
    P3C = "3(c)", "3(c) Education: assessing level of education"
    P3D = "3(d)", "3(d) Education: monitoring behaviour in tests"
    P4A = "4(a)", "4(a) Employment: recruitment and selection"
    P4B = "4(b)", "4(b) Employment: terms, promotion, termination, monitoring"
    P5A = "5(a)", "5(a) Eligibility for public assistance benefits"
    P5B = "5(b)", "5(b) Creditworthiness or credit score of natural persons"
    P5C = "5(c)", "5(c) Risk assessment and pricing in life and health insurance"
    P5D = "5(d)", "5(d) Emergency call evaluation and dispatch"
    P6 = "6", "6 Law enforcement"
    P7 = "7", "7 Migration, asylum and border control"
    P8A = "8(a)", "8(a) Administration of justice"
    P8B = "8(b)", "8(b) Influencing elections or referendums"


class LifecycleStatus(models.TextChoices):
    DEVELOPMENT = "development", "Development"
    VALIDATION = "validation", "Validation"
    APPROVED = "approved", "Approved"
    PRODUCTION = "production", "Production"
    RETIRED = "retired", "Retired"


class Origin(models.TextChoices):
    IN_HOUSE = "in_house", "In-house"
    VENDOR = "vendor", "Vendor"


class ModelType(models.TextChoices):
    CLASSIFICATION = "classification", "Classification"
    REGRESSION = "regression", "Regression"
    RANKING = "ranking", "Ranking / recommendation"
    ANOMALY = "anomaly_detection", "Anomaly detection"
    FORECASTING = "forecasting", "Forecasting"
    NLP = "nlp", "Natural-language processing"
    VISION = "vision", "Computer vision"
    GENERATIVE = "generative", "Generative"
    OTHER = "other", "Other"


class VersionStage(models.TextChoices):
    DEVELOPMENT = "development", "Development"
    STAGING = "staging", "Staging"
    PRODUCTION = "production", "Production"
    ARCHIVED = "archived", "Archived"


class DatasetRole(models.TextChoices):
    TRAINED_ON = "trained_on", "Trained on"
    EVALUATED_ON = "evaluated_on", "Evaluated on"


class DeploymentEnvironment(models.TextChoices):
    PRODUCTION = "production", "Production"
    STAGING = "staging", "Staging"
    SHADOW = "shadow", "Shadow"


class DeploymentStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    INACTIVE = "inactive", "Inactive"


class DependencyKind(models.TextChoices):
    FEEDS = "feeds", "Feeds (output is an input of)"


class RiskAssessmentStatus(models.TextChoices):
    PENDING = "pending", "Awaiting validator"
    AWAITING_APPROVAL = "awaiting_approval", "Tier proposed, awaiting approval"
    CONFIRMED = "confirmed", "Confirmed"
    OVERRIDDEN = "overridden", "Overridden"
    REJECTED = "rejected", "Rejected"
