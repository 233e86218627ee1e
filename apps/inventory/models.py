"""The model inventory: registered models, versions, datasets, deployments and lineage."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MinLengthValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse

from apps.core.fields import StampField
from apps.inventory.choices import (
    AnnexIIIPoint,
    DatasetRole,
    DependencyKind,
    DeploymentEnvironment,
    DeploymentStatus,
    EUAIActClass,
    LifecycleStatus,
    ModelType,
    Origin,
    RiskAssessmentStatus,
    RiskTier,
    VersionStage,
)

sha256_validator = RegexValidator(
    r"^[0-9a-f]{64}$", "Enter a SHA-256 digest: 64 lowercase hexadecimal characters."
)
commit_validator = RegexValidator(
    r"^[0-9a-f]{7,40}$", "Enter a git commit hash: 7 to 40 lowercase hexadecimal characters."
)
slug_validator = RegexValidator(
    r"^[a-z0-9]+(?:-[a-z0-9]+)*$",
    "Use lowercase letters, digits and single hyphens, e.g. credit-scoring.",
)
version_validator = RegexValidator(
    r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$",
    "Use letters, digits, dots, hyphens, plus or underscores, e.g. 1.4.0.",
)

User = settings.AUTH_USER_MODEL


class BusinessUnit(models.Model):
    """An organisational unit that uses models (e.g. Logistics, Finance Operations)."""

    name = models.CharField(max_length=120, unique=True)
    code = models.SlugField(max_length=40, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class RegisteredModel(models.Model):
    """An inventory record: what a model is for, who is accountable, its risk and lifecycle."""

    slug = models.SlugField(max_length=80, unique=True, validators=[slug_validator])
    name = models.CharField(max_length=200, validators=[MinLengthValidator(3)])
    description = models.TextField(blank=True)
    purpose = models.TextField("purpose / intended use")
    out_of_scope_uses = models.TextField(blank=True)
    intended_users = models.TextField(blank=True)
    business_unit = models.ForeignKey(BusinessUnit, on_delete=models.PROTECT, related_name="models")
    origin = models.CharField(max_length=16, choices=Origin.choices, default=Origin.IN_HOUSE)
    vendor = models.CharField(max_length=200, blank=True)

    owner = models.ForeignKey(User, on_delete=models.PROTECT, related_name="owned_models")
    developers = models.ManyToManyField(User, blank=True, related_name="developed_models")
    business_owner = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="business_owned_models"
    )
    validator = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="validated_models"
    )

    model_type = models.CharField(max_length=32, choices=ModelType.choices, default=ModelType.OTHER)
    algorithm = models.CharField(max_length=200, blank=True)
    inputs = models.TextField(blank=True)
    outputs = models.TextField(blank=True)
    downstream_consumers = models.TextField(blank=True)
    limitations = models.TextField(blank=True)
    assumptions = models.TextField(blank=True)
    ethical_considerations = models.TextField(blank=True)
    explainability = models.TextField("explainability notes", blank=True)
    human_oversight_contact = models.CharField(max_length=200, blank=True)

    risk_tier = models.PositiveSmallIntegerField(choices=RiskTier.choices, null=True, blank=True)
    risk_tier_rationale = models.TextField(blank=True)
    risk_assessed_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    risk_assessed_at = models.DateTimeField(null=True, blank=True)
    eu_ai_act_class = models.CharField(
        "EU AI Act class",
        max_length=16,
        choices=EUAIActClass.choices,
        default=EUAIActClass.UNASSESSED,
    )
    eu_annex_iii_point = models.CharField(
        "Annex III point", max_length=8, choices=AnnexIIIPoint.choices, blank=True
    )

    status = models.CharField(
        max_length=16, choices=LifecycleStatus.choices, default=LifecycleStatus.DEVELOPMENT
    )
    status_changed_at = models.DateTimeField(null=True, blank=True)
    validation_started_at = models.DateTimeField(null=True, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    deployed_at = models.DateTimeField(null=True, blank=True)
    retired_at = models.DateTimeField(null=True, blank=True)
    retirement_reason = models.TextField(blank=True)
    next_review_date = models.DateField(null=True, blank=True)

    # A model found by an integration (e.g. an MLflow registry sync) rather than registered by
    # hand: unassessed (treated as Tier 1) and held by the integration's service user until
    # a model owner claims it, stating its purpose and business owner.
    discovered_from = models.CharField(
        max_length=200, blank=True, help_text="Where the model was discovered (e.g. MLflow)."
    )
    discovered_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)

    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = StampField(auto_now_add=True)
    updated_at = StampField(auto_now=True)

    class Meta:
        ordering = ["name"]
        # Lists sort by name, alone or within a tier, status or business unit: each is an
        # ordered index scan that stops after a page. (Search by text has trigram indexes on
        # PostgreSQL, migration 0003.)
        indexes = [
            models.Index(fields=["name", "id"], name="model_name_idx"),
            models.Index(fields=["risk_tier", "name"], name="model_tier_name_idx"),
            models.Index(fields=["status", "name"], name="model_status_name_idx"),
            models.Index(fields=["business_unit", "name"], name="model_unit_name_idx"),
            # The dashboard's counts by status, tier, EU class and review date: an index-only
            # scan of this narrow index instead of reading every model's whole row.
            models.Index(
                fields=["status", "risk_tier", "eu_ai_act_class", "next_review_date", "id"],
                name="model_figures_idx",
            ),
            # Reviews falling due (the dashboard's next ten): retired models have none.
            models.Index(
                fields=["next_review_date", "name"],
                condition=~Q(status=LifecycleStatus.RETIRED),
                name="model_review_due_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(eu_ai_act_class=EUAIActClass.HIGH_RISK) | ~Q(eu_annex_iii_point=""),
                name="high_risk_names_annex_iii_point",
            ),
            models.CheckConstraint(
                condition=~Q(eu_ai_act_class=EUAIActClass.HIGH_RISK)
                | Q(risk_tier__isnull=True)
                | Q(risk_tier=1),
                name="high_risk_is_tier_1",
            ),
            models.CheckConstraint(
                condition=~Q(eu_ai_act_class=EUAIActClass.PROHIBITED)
                | ~Q(status__in=[LifecycleStatus.APPROVED, LifecycleStatus.PRODUCTION]),
                name="prohibited_never_in_production",
            ),
        ]
        permissions = [
            ("assess_risk_registeredmodel", "Can fill in the risk questionnaire"),
            ("decide_risk_registeredmodel", "Can confirm or override a risk tier"),
            ("transition_registeredmodel", "Can change the lifecycle status"),
            ("view_history_registeredmodel", "Can read the model's audit history"),
            ("register_version_registeredmodel", "Can register versions of the model"),
            ("claim_registeredmodel", "Can claim a discovered model"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("inventory:model_detail", kwargs={"slug": self.slug})

    @property
    def is_eu_high_risk(self) -> bool:
        return self.eu_ai_act_class == EUAIActClass.HIGH_RISK

    @property
    def awaits_claim(self) -> bool:
        """Discovered by an integration and not yet claimed by a model owner."""
        return self.discovered_at is not None and self.claimed_at is None


class Dataset(models.Model):
    """A dataset used to train or evaluate models, with datasheet fields."""

    slug = models.SlugField(max_length=80, unique=True, validators=[slug_validator])
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    uri = models.CharField("URI", max_length=500)
    version = models.CharField(max_length=100, blank=True)
    content_hash = models.CharField(
        "content SHA-256", max_length=64, blank=True, validators=[sha256_validator]
    )
    owner = models.ForeignKey(User, on_delete=models.PROTECT, related_name="owned_datasets")
    contains_personal_data = models.BooleanField(default=False)
    motivation = models.TextField(blank=True)
    composition = models.TextField(blank=True)
    collection_process = models.TextField(blank=True)
    preprocessing = models.TextField(blank=True)
    known_gaps = models.TextField("known gaps and biases", blank=True)
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = StampField(auto_now_add=True)
    updated_at = StampField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} {self.version}".strip()

    def get_absolute_url(self) -> str:
        return reverse("inventory:dataset_detail", kwargs={"slug": self.slug})


class ModelVersion(models.Model):
    """One trained artefact of a registered model. Immutable once approved."""

    model = models.ForeignKey(RegisteredModel, on_delete=models.PROTECT, related_name="versions")
    version = models.CharField(max_length=64, validators=[version_validator])
    description = models.TextField(blank=True)
    artifact_uri = models.CharField("artifact URI", max_length=500)
    artifact_sha256 = models.CharField(
        "artifact SHA-256", max_length=64, validators=[sha256_validator]
    )
    code_commit = models.CharField(max_length=40, blank=True, validators=[commit_validator])
    hyperparameters = models.JSONField(default=dict, blank=True)
    evaluation_metrics = models.JSONField(default=dict, blank=True)
    datasets = models.ManyToManyField(Dataset, through="VersionDataset", related_name="versions")
    stage = models.CharField(
        max_length=16, choices=VersionStage.choices, default=VersionStage.DEVELOPMENT
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = StampField(auto_now_add=True)

    class Meta:
        ordering = ["model", "-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["model", "version"], name="unique_version_per_model"),
            models.UniqueConstraint(
                fields=["model"],
                condition=Q(stage=VersionStage.PRODUCTION),
                name="one_production_version_per_model",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.model.name} {self.version}" if self.model_id else self.version

    def get_absolute_url(self) -> str:
        return reverse(
            "inventory:version_detail", kwargs={"slug": self.model.slug, "version": self.version}
        )

    @property
    def is_locked(self) -> bool:
        """Approved versions are immutable evidence."""
        return self.approved_at is not None


class VersionDataset(models.Model):
    """Typed lineage edge dataset → version (trained on / evaluated on)."""

    version = models.ForeignKey(
        ModelVersion, on_delete=models.CASCADE, related_name="dataset_links"
    )
    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, related_name="version_links")
    role = models.CharField(max_length=16, choices=DatasetRole.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["version", "dataset", "role"], name="unique_version_dataset_role"
            )
        ]

    def __str__(self) -> str:
        return f"{self.dataset} {self.get_role_display().lower()} by {self.version}"


class Deployment(models.Model):
    """Lineage edge version → deployment: where a version serves, and who consumes it."""

    version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="deployments")
    environment = models.CharField(max_length=16, choices=DeploymentEnvironment.choices)
    endpoint = models.CharField(max_length=300, blank=True)
    consumers = models.TextField(blank=True, help_text="Systems or teams consuming the outputs.")
    status = models.CharField(
        max_length=16, choices=DeploymentStatus.choices, default=DeploymentStatus.ACTIVE
    )
    deployed_at = models.DateTimeField()
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = StampField(auto_now_add=True)

    class Meta:
        ordering = ["-deployed_at"]

    def __str__(self) -> str:
        return f"{self.version} → {self.get_environment_display()}"


class ModelDependency(models.Model):
    """Lineage edge model → model: the upstream model's output feeds the downstream one."""

    upstream = models.ForeignKey(
        RegisteredModel, on_delete=models.CASCADE, related_name="downstream_links"
    )
    downstream = models.ForeignKey(
        RegisteredModel, on_delete=models.CASCADE, related_name="upstream_links"
    )
    kind = models.CharField(max_length=16, choices=DependencyKind.choices, default="feeds")
    description = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = StampField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "model dependencies"
        constraints = [
            models.UniqueConstraint(fields=["upstream", "downstream"], name="unique_dependency"),
            models.CheckConstraint(
                condition=~Q(upstream=models.F("downstream")), name="no_self_dependency"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.upstream} feeds {self.downstream}"


class RiskAssessment(models.Model):
    """A dated, attributed risk-tier decision: questionnaire, suggestion, validator's call.

    The ``decided_*`` fields hold the validator's proposal (tier, reason, who, when); the tier
    reaches the model only when a second validator approves the risk-tier-change request
    (``approved_by`` / ``approved_at``), see ``apps.inventory.approvals``.
    """

    model = models.ForeignKey(
        RegisteredModel, on_delete=models.PROTECT, related_name="risk_assessments"
    )
    answers = models.JSONField()
    eu_ai_act_class = models.CharField(max_length=16, choices=EUAIActClass.choices)
    suggested_tier = models.PositiveSmallIntegerField(choices=RiskTier.choices)
    suggested_rationale = models.TextField()
    points = models.PositiveSmallIntegerField()
    assessed_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    assessed_at = models.DateTimeField()
    status = models.CharField(
        max_length=24, choices=RiskAssessmentStatus.choices, default=RiskAssessmentStatus.PENDING
    )
    decided_tier = models.PositiveSmallIntegerField(choices=RiskTier.choices, null=True, blank=True)
    decision_reason = models.TextField(blank=True)
    decided_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-assessed_at"]

    def __str__(self) -> str:
        return f"Risk assessment of {self.model} ({self.assessed_at:%Y-%m-%d})"
