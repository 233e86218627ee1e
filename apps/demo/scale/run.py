"""Running the scale generator: the stages in order, with progress and per-stage timings.

1. People, units and metrics (services), the bulk-created staff.
2. The inventory (models, versions, datasets, lineage, assessments, deployments), thresholds,
   approvals, incidents, reviews and findings (bulk rows with their audit events).
3. Observations through the ingestion loader, with their batches.
4. The audit trail: every event of the stages above merged in time order with the everyday
   edits that bring it to the size asked for, appended in bulk to the hash chain.
5. Threshold evaluation (the real service) of the heavy model and the latest batches; then the
   last edits that make the trail exactly the size asked for.

Steps 1-4 run in one transaction: a failed run leaves the database as it found it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta

from django.apps import apps as django_apps
from django.db import connection, transaction

from apps.accounts.models import User
from apps.audit.models import AuditChainHead, AuditEvent
from apps.core import clock, context
from apps.demo.scale import people
from apps.demo.scale.approvals import write_requests
from apps.demo.scale.chain import audit_append_bulk
from apps.demo.scale.context import Scale, ScaleOptions
from apps.demo.scale.governance import GovernanceBuilder
from apps.demo.scale.inventory import HEAVY_SLUG, InventoryBuilder
from apps.demo.scale.monitoring import ObservationBuilder
from apps.demo.scale.topup import TopUp, merged
from apps.demo.story import StoryClock
from apps.inventory.models import RegisteredModel
from apps.monitoring.evaluation.services import evaluate_batch

#: Events kept back for the evaluation stage before the last top-up fills the rest.
RESERVE = 3000

#: The tables counted at the end, as app label.model name.
COUNTED = (
    "accounts.User",
    "inventory.BusinessUnit",
    "inventory.RegisteredModel",
    "inventory.ModelVersion",
    "inventory.Dataset",
    "inventory.VersionDataset",
    "inventory.Deployment",
    "inventory.ModelDependency",
    "inventory.RiskAssessment",
    "monitoring.MetricDefinition",
    "monitoring.Threshold",
    "monitoring.IngestionBatch",
    "monitoring.Observation",
    "monitoring.ThresholdState",
    "monitoring.Breach",
    "approvals.ApprovalRequest",
    "approvals.Decision",
    "incidents.Incident",
    "incidents.IncidentEvent",
    "reviews.Review",
    "reviews.Finding",
    "audit.AuditEvent",
)


class DatabaseNotEmpty(Exception):
    """The database already holds registered models (or accounts)."""


@dataclass(frozen=True)
class ScaleResult:
    heavy_slug: str
    counts: dict[str, int]
    timings: dict[str, float]
    seconds: float


def refusal() -> str | None:
    """Why this database cannot take the generated data, or None."""
    models = RegisteredModel.objects.count()
    if models:
        return f"The database already holds {models} registered models."
    taken = User.objects.filter(username__in=["admin", "validator", "model_owner"]).count()
    if taken:
        return "The database already holds the demo accounts (admin, validator, ...)."
    if AuditEvent.objects.exists():
        return "The database already holds audit events."
    return None


def counts() -> dict[str, int]:
    out = {}
    for label in COUNTED:
        model = django_apps.get_model(label)
        if label == "monitoring.Observation" and connection.vendor == "postgresql":
            # Exact, without a 10-million-row count in Python's time: still a full count.
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT count(*) FROM {model._meta.db_table}")  # noqa: S608
                out[label] = cursor.fetchone()[0]
            continue
        out[label] = model._default_manager.count()
    return out


def generate(options: ScaleOptions, *, report=print, password: str | None = None) -> ScaleResult:
    """Fill an empty, migrated database; raises ``DatabaseNotEmpty`` otherwise."""
    why = refusal()
    if why:
        raise DatabaseNotEmpty(why)
    started = time.monotonic()
    now = clock.now().replace(microsecond=0)
    scale = Scale(options=options, now=now, report=report)
    with context.bind(request_id="", client_ip=""), transaction.atomic():
        with scale.stage("people, business units, metrics"):
            people.seed_people(scale, password=password)
        inventory = InventoryBuilder(scale)
        with scale.stage("datasets"):
            inventory.build_datasets()
        with scale.stage("models, versions, assessments, deployments (plan)"):
            inventory.plan_models()
        with scale.stage("models, versions, assessments, deployments (write)"):
            inventory.write()
            scale.plan_by_id = {p.model.pk: p for p in scale.plans}
        governance = GovernanceBuilder(scale)
        with scale.stage("thresholds"):
            governance.plan_thresholds()
            governance.write_thresholds()
        with scale.stage("reviews and findings (plan)"):
            governance.plan_reviews()
            governance.write_reviews_rows()
        with scale.stage(f"approval requests ({len(scale.requests)})"):
            write_requests(scale, scale.requests)
            governance.finish_thresholds()
            governance.finish_reviews()
        with scale.stage("incidents"):
            governance.write_incidents()
        observations = ObservationBuilder(scale)
        with scale.stage("observations (plan)"):
            observations.plan()
        with scale.stage(
            f"observations ({options.observations:,}, {len(observations.slices)} batches)"
        ):
            observations.write()
        topup = TopUp(scale)
        with scale.stage("audit trail"):
            head = (
                AuditChainHead.objects.filter(pk=1).values_list("sequence", flat=True).first() or 0
            )
            wanted = options.audit_events - head - len(scale.events) - RESERVE
            scale.events.sort(key=lambda e: e.at)
            everyday = topup.events(wanted, start=scale.start, end=scale.now - timedelta(days=1))
            appended = audit_append_bulk(merged(iter(scale.events), everyday))
            topup.apply_rows()
            scale.events = []
            report(f"    {appended:,} events appended")
    with scale.stage("threshold evaluation"):
        story = StoryClock(
            start=scale.now - timedelta(hours=20), end=scale.now - timedelta(hours=2)
        )
        with story.running():
            for piece in observations.evaluation_order():
                evaluate_batch(batch=piece.batch, series=piece.series)
    with scale.stage("audit trail (last edits)"), transaction.atomic():
        head = AuditChainHead.objects.select_for_update().get(pk=1).sequence
        last = (
            AuditEvent.objects.filter(sequence=head).values_list("occurred_at", flat=True).first()
        )
        rest = options.audit_events - head
        if rest > 0:
            audit_append_bulk(
                topup.events(
                    rest, start=last + timedelta(seconds=1), end=scale.now - timedelta(minutes=1)
                )
            )
            topup.apply_rows()
    with scale.stage("counting"):
        table = counts()
    return ScaleResult(
        heavy_slug=HEAVY_SLUG,
        counts=table,
        timings=dict(scale.timings),
        seconds=time.monotonic() - started,
    )
