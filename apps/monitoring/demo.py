"""Demo thresholds for ``seed_demo``: signed thresholds on production models and one
revision waiting for the business owner's sign-off. Idempotent, written through the
services and the approval engine, so the audit trail tells the story."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from apps.accounts.models import User
from apps.approvals.choices import Verdict
from apps.approvals.models import ApprovalRequest
from apps.approvals.services import approval_decide
from apps.inventory.models import RegisteredModel
from apps.monitoring import services
from apps.monitoring.choices import MetricDirection, ThresholdStatus
from apps.monitoring.models import MetricDefinition, Threshold

METRICS = (
    ("auc", "Area under the ROC curve on labelled outcomes.", "", MetricDirection.HIGHER_IS_BETTER),
    (
        "recall",
        "Share of actual positives the model catches.",
        "",
        MetricDirection.HIGHER_IS_BETTER,
    ),
    (
        "drift.psi.income",
        "Population stability index of declared income against the training data.",
        "PSI",
        MetricDirection.LOWER_IS_BETTER,
    ),
    ("latency.p95", "95th percentile of scoring latency.", "ms", MetricDirection.LOWER_IS_BETTER),
)


@dataclass(frozen=True)
class DemoThreshold:
    model: str
    metric: str
    warning: float
    critical: float
    rationale: str
    evaluation: str = "latest"
    window_days: int | None = None
    min_samples: int = 1
    segment: str = ""


ACTIVE = (
    DemoThreshold(
        "retail-credit-scoring",
        "auc",
        0.74,
        0.70,
        "Below 0.70 the scorecard no longer separates good from bad payers well enough for "
        "the approved cut-offs; 0.74 leaves a month to retrain.",
        evaluation="mean",
        window_days=7,
        min_samples=500,
    ),
    DemoThreshold(
        "retail-credit-scoring",
        "drift.psi.income",
        0.10,
        0.25,
        "PSI above 0.25 is the bank's standard signal of a material population shift.",
    ),
    DemoThreshold(
        "failed-delivery-predictor",
        "recall",
        0.80,
        0.72,
        "Dispatch planning assumes at least 72% of failed deliveries are flagged in advance.",
        evaluation="min",
        window_days=3,
        min_samples=200,
    ),
    DemoThreshold(
        "payment-anomaly-prioritiser",
        "latency.p95",
        250,
        400,
        "Reviewers' queue refresh budget is 400 ms per payment.",
    ),
)
# The revision waiting for the business owner: tighter AUC bounds on the credit model.
PENDING_REVISION = ("retail-credit-scoring", "auc", 0.76, 0.72)


def _sign(request: ApprovalRequest, approvers: list[User], password: str) -> None:
    """Approve with each approver until the quorum is met (the engine picks their slot)."""
    for approver in approvers:
        request.refresh_from_db()
        if not request.is_open:
            return
        approval_decide(
            actor=approver,
            request=request,
            verdict=Verdict.APPROVE,
            password=password,
            comment="Bounds agreed at the model risk committee.",
        )


@transaction.atomic
def seed_thresholds(*, password: str | None = None) -> dict[str, int]:
    """Create what is missing: metrics, signed thresholds and one pending revision.

    Needs the demo users and models of ``seed_demo``; returns counts of what was created.
    """
    if password is None:
        from apps.inventory.management.commands.seed_demo import demo_password

        password = demo_password()
    users = {u.username: u for u in User.objects.filter(username__in=["admin", "validator"])}
    validator, admin = users["validator"], users["admin"]
    created = {"metrics": 0, "thresholds": 0, "pending sign-offs": 0}
    metrics = {}
    for name, description, unit, direction in METRICS:
        metric = MetricDefinition.objects.filter(name=name).first()
        if metric is None:
            metric = services.metric_definition_create(
                actor=admin, name=name, description=description, unit=unit, direction=direction
            )
            created["metrics"] += 1
        metrics[name] = metric
    review_by = timezone.localdate() + timedelta(days=365)
    models = {m.slug: m for m in RegisteredModel.objects.select_related("owner", "business_owner")}
    for spec in ACTIVE:
        model = models.get(spec.model)
        if model is None:
            continue
        metric = metrics[spec.metric]
        if Threshold.objects.filter(model=model, metric=metric, segment=spec.segment).exists():
            continue
        threshold = services.threshold_create(
            actor=model.owner,
            model=model,
            metric=metric,
            warning_bound=spec.warning,
            critical_bound=spec.critical,
            evaluation=spec.evaluation,
            window_days=spec.window_days,
            min_samples=spec.min_samples,
            rationale=spec.rationale,
            review_by=review_by,
            segment=spec.segment,
        )
        services.threshold_submit(actor=model.owner, threshold=threshold)
        threshold.refresh_from_db()
        _sign(threshold.signoff_request, [model.business_owner, validator], password)
        created["thresholds"] += 1
    slug, metric_name, warning, critical = PENDING_REVISION
    active = Threshold.objects.filter(
        model__slug=slug, metric__name=metric_name, status=ThresholdStatus.ACTIVE
    ).first()
    if active is not None and not active.revisions.exists():
        owner = active.model.owner
        revision = services.threshold_revise(actor=owner, threshold=active)
        revision = services.threshold_update(
            actor=owner,
            threshold=revision,
            warning_bound=warning,
            critical_bound=critical,
            rationale=active.rationale + " Tightened after the 2026 recalibration.",
        )
        services.threshold_submit(
            actor=owner,
            threshold=revision,
            justification="Recalibrated model: the committee asked for tighter AUC bounds.",
        )
        created["pending sign-offs"] += 1
    return created
