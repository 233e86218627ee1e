"""Fixtures of the report tests: a clock the services read, and a credit-scoring model built
through the real services (registration, risk tiering, validation, promotion, deployment,
signed thresholds, observations, a drift run, an incident, a review with a finding and a
lineage link), so its audit trail is the one production would hold."""

from __future__ import annotations

import datetime as dt
import hashlib
from types import SimpleNamespace

import pytest
from django.utils import timezone

from apps.approvals.choices import ApprovalKind
from apps.core import roles
from apps.incidents import services as incidents
from apps.inventory import services as inventory
from apps.monitoring import services as monitoring
from apps.monitoring.models import MetricDefinition
from apps.reviews import services as reviews
from tests.approvals.helpers import promote, request_approval, sign, validate
from tests.factories import UserFactory
from tests.monitoring.drift.factories import make_run
from tests.monitoring.observations import batch_for, observe

#: Where the clock starts: every test world is built on these days.
START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)

ANSWERS = {
    "financial_exposure": "medium",
    "customer_impact": "medium",
    "regulatory_use": "low",
    "automation": "medium",
    "complexity": "medium",
}


class Clock:
    """``timezone.now()`` for the services, the ORM's auto times and the audit trail: starts
    at ``START`` and moves a millisecond per reading, so events keep their order."""

    def __init__(self, start: dt.datetime):
        self.current = start

    def __call__(self) -> dt.datetime:
        self.current += dt.timedelta(milliseconds=1)
        return self.current

    def advance(self, **delta) -> dt.datetime:
        self.current += dt.timedelta(**delta)
        return self.current


@pytest.fixture
def clock(monkeypatch):
    fake = Clock(START)
    monkeypatch.setattr(timezone, "now", fake)
    return fake


@pytest.fixture
def cast(db, admin_user, validator, business_owner, model_owner):
    """Everyone a model's record names: the personas plus a second validator (four eyes on a
    risk tier), a developer and a data owner."""
    return SimpleNamespace(
        admin=admin_user,
        validator=validator,
        validator2=UserFactory(
            username="vera.validator",
            first_name="Vera",
            last_name="Second",
            roles=[roles.VALIDATOR],
        ),
        business_owner=business_owner,
        owner=model_owner,
        developer=UserFactory(
            username="dev.developer",
            first_name="Dana",
            last_name="Developer",
            roles=[roles.MODEL_OWNER],
        ),
        # Owns the datasets: a role that may keep a datasheet (the dataset service checks).
        data_owner=UserFactory(username="dora.data", roles=[roles.MODEL_OWNER]),
    )


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def register_version(world, version: str, **extra):
    """A version of the world's model trained and evaluated on its datasets."""
    return inventory.model_version_register(
        actor=world.cast.owner,
        model=world.model,
        version=version,
        description=f"Release {version}.",
        artifact_uri=f"s3://models/credit/{version}/model.pkl",
        artifact_sha256=sha(f"artifact {world.model.slug} {version}"),
        code_commit="0123abcd",
        hyperparameters={"max_depth": 6, "learning_rate": 0.05},
        evaluation_metrics={"auc": 0.84},
        training_datasets=[world.train],
        evaluation_datasets=[world.holdout],
        **extra,
    )


def metric(admin, name: str, direction: str, **fields) -> MetricDefinition:
    """The metric definition of that name, defined by the administrator if it is new."""
    existing = MetricDefinition.objects.filter(name=name).first()
    return existing or monitoring.metric_definition_create(
        actor=admin, name=name, direction=direction, **fields
    )


def signed_threshold(world, definition, **fields):
    """A threshold drafted by the owner and signed off by the approvers the policy names."""
    threshold = monitoring.threshold_create(
        actor=world.cast.owner,
        model=world.model,
        metric=definition,
        review_by=timezone.localdate() + dt.timedelta(days=365),
        rationale=f"Agreed with the business for {definition.name}.",
        **fields,
    )
    return activate(world, threshold)


def activate(world, threshold):
    threshold = monitoring.threshold_submit(actor=world.cast.owner, threshold=threshold)
    approvers = [world.cast.business_owner]
    if (world.model.risk_tier or 1) == 1:
        approvers.append(world.cast.validator)
    for approver in approvers:
        sign(threshold.signoff_request, approver)
    threshold.refresh_from_db()
    return threshold


def build_world(
    cast, clock, *, slug: str = "credit-scoring", unit: str = "Retail Credit", extra: int = 0
) -> SimpleNamespace:
    """A Tier 2 credit-scoring model in production, built day by day through the services.

    ``extra`` adds that many more versions (each with a pending validation request),
    thresholds, incidents and observations, for tests about sizes.
    """
    admin, owner, validator = cast.admin, cast.owner, cast.validator
    world = SimpleNamespace(cast=cast)
    unit = inventory.business_unit_create(actor=admin, code=f"{slug}-unit", name=unit)
    world.model = inventory.registered_model_create(
        actor=owner,
        slug=slug,
        name="Credit scoring",
        description="Scores consumer loan applications.",
        purpose="Rank applications by default risk for the underwriters.",
        out_of_scope_uses="Small-business loans.",
        intended_users="Underwriters in Retail Credit.",
        business_unit=unit,
        business_owner=cast.business_owner,
        validator=validator,
        model_type="classification",
        algorithm="Gradient-boosted trees",
        limitations="Thin-file applicants score poorly.",
        developers=[cast.developer],
    )
    world.train = inventory.dataset_create(
        actor=owner,
        slug=f"{slug}-loans-2025",
        name="Loans 2025",
        uri="s3://data/loans-2025.parquet",
        version="2025.12",
        content_hash=sha(f"{slug} loans 2025"),
        owner=cast.data_owner,
        contains_personal_data=True,
    )
    world.holdout = inventory.dataset_create(
        actor=owner,
        slug=f"{slug}-holdout-2026",
        name="Hold-out 2026",
        uri="s3://data/holdout-2026.parquet",
        owner=cast.data_owner,
    )
    clock.advance(days=1)
    assessment = inventory.risk_assessment_submit(
        actor=owner, model=world.model, answers=ANSWERS, eu_ai_act_class="minimal"
    )
    proposal = inventory.risk_assessment_decide(
        actor=validator, assessment=assessment, tier=2, reason="Material to lending volumes."
    )
    sign(proposal.approval_request, cast.validator2)
    world.model.refresh_from_db()
    inventory.registered_model_transition(actor=owner, model=world.model, target="validation")

    clock.advance(days=1)
    world.v1 = register_version(world, "1.0.0")
    validate(world.v1, owner, validator)
    promote(world.v1, owner, [cast.business_owner, validator])
    world.model.refresh_from_db()
    world.deployment = inventory.deployment_create(
        actor=owner,
        version=world.v1,
        environment="production",
        endpoint="https://scoring.internal/v1",
        consumers="Loan origination system",
    )
    world.upstream = inventory.registered_model_create(
        actor=owner,
        slug=f"{slug}-features",
        name="Applicant features",
        purpose="Derive applicant features.",
        business_unit=unit,
        business_owner=cast.business_owner,
    )
    # No description: the audit trail does not record it, so it could not come back as of a
    # time before the link was removed.
    world.dependency = inventory.model_dependency_create(
        actor=owner, upstream=world.upstream, downstream=world.model
    )

    clock.advance(days=1)
    world.auc = metric(admin, "auc", "higher_is_better", description="ROC AUC")
    world.brier = metric(admin, "brier", "lower_is_better", unit="score")
    world.auc_threshold = signed_threshold(world, world.auc, warning_bound=0.75, critical_bound=0.7)
    world.brier_threshold = signed_threshold(
        world,
        world.brier,
        warning_bound=0.2,
        critical_bound=0.25,
        evaluation="mean",
        window_days=7,
        min_samples=3,
    )

    clock.advance(days=10)
    batch = batch_for(world.model, owner, name=f"{slug}-daily")
    now = timezone.now()
    observe(world.v1, world.auc, [0.81, 0.80, 0.79, 0.77, 0.74], batch=batch, end=now)
    observe(world.v1, world.brier, [0.18, 0.19, 0.21, 0.22, 0.23, 0.24], batch=batch, end=now)
    world.drift = make_run(
        world.v1, owner, columns=3, observed_at=now, finished_at=now + dt.timedelta(minutes=5)
    )
    world.incident = incidents.incident_create(
        actor=owner,
        model=world.model,
        title="AUC dipped after the rate change",
        severity="sev3",
        description="Scores shifted on 1 March.",
        affected_versions=[world.v1],
    )
    world.review = reviews.review_create(actor=validator, model=world.model, scope="Annual review")
    world.finding = reviews.finding_create(
        actor=validator,
        model=world.model,
        review=world.review,
        title="Thin-file applicants",
        severity="medium",
        description="Monitor the thin-file segment.",
        owner=owner,
        due_date=timezone.localdate() + dt.timedelta(days=60),
    )
    world.v2 = register_version(world, "2.0.0")
    world.v2_validation = request_approval(ApprovalKind.VALIDATION_SIGNOFF, world.v2, owner)

    world.extra_versions = []
    for i in range(extra):
        version = register_version(world, f"1.{i + 1}.0")
        request_approval(ApprovalKind.VALIDATION_SIGNOFF, version, owner)
        ks = metric(admin, f"ks-{i}", "higher_is_better")
        signed_threshold(world, ks, warning_bound=0.5, critical_bound=0.4, version=version)
        observe(version, ks, [0.6, 0.55], batch=batch, end=now)
        incidents.incident_create(
            actor=owner, model=world.model, title=f"Extra incident {i}", severity="sev4"
        )
        world.extra_versions.append(version)
    clock.advance(hours=1)
    return world


@pytest.fixture
def world(cast, clock):
    return build_world(cast, clock)
