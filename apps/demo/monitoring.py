"""Demo monitoring for ``seed_demo``: signed thresholds on production models and one
revision waiting for the business owner's sign-off (``seed_thresholds``), then 90 days of
metrics per model with the stories of the failed-delivery predictor, the payment anomaly
prioritiser's candidate and the recommendation service's value (``seed_monitoring``).
Idempotent, written through the services: the metrics are pushed as files through the same
ingestion service as real data (``ingestion_batch_create``, then the batch run in this
process), the thresholds signed through the approval engine, so the audit trail, states,
breaches and incidents tell the story."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from functools import partial

import numpy as np
import pandas as pd
from django.db import transaction
from django.db.models import Avg
from django.utils import timezone

from apps.accounts.models import User
from apps.approvals.choices import ApprovalKind, ApproverRole, Verdict
from apps.approvals.models import ApprovalRequest, GateOverride
from apps.approvals.services import approval_decide, approval_request_create, gate_lift
from apps.core import clock
from apps.demo.data.monitoring import (
    ACTIVE,
    BATCH_DAYS,
    CANDIDATE,
    CANDIDATE_SHADOW_DAYS,
    METRICS,
    PENDING_REVISION,
    POSTCODE_CHANGE_DAYS_AGO,
    REJECTION_COMMENT,
    RNG_SEED,
    SERIES,
    DemoSeries,
)
from apps.demo.passwords import demo_password
from apps.demo.story import Step, run_story
from apps.inventory import services as inventory_services
from apps.inventory.approvals import has_approved_validation, review_gate_refusal
from apps.inventory.choices import LifecycleStatus, VersionStage
from apps.inventory.models import Dataset, ModelVersion, RegisteredModel
from apps.monitoring import services
from apps.monitoring.choices import (
    BatchStatus,
    IngestionSource,
    ThresholdStatus,
)
from apps.monitoring.drift.services import drift_run_create, drift_run_execute
from apps.monitoring.ingestion import services as ingestion
from apps.monitoring.models import (
    DriftRun,
    IngestionBatch,
    MetricDefinition,
    Observation,
    Threshold,
)


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


#: When the last signature of the thresholds was given (proposed four days earlier, signed by the
#: business owners two days earlier) and the revision submitted (days before the seeding).
THRESHOLDS_SIGNED_DAYS_AGO = 97
REVISION_DAYS_AGO = 8


def _password(password: str | None) -> str:
    if password is not None:
        return password
    return demo_password()


@transaction.atomic
def seed_thresholds(*, password: str | None = None) -> dict[str, int]:
    """Create what is missing: metrics, signed thresholds and one pending revision.

    Needs the demo users and models of ``seed_demo``; returns counts of what was created.
    """
    created = {"metrics": 0, "thresholds": 0, "threshold revisions submitted": 0}
    run_story(threshold_steps(password=_password(password), now=clock.now(), counts=created))
    return created


def threshold_steps(*, password: str, now: datetime, counts: dict[str, int]) -> list[Step]:
    """The thresholds proposed by the model owners, signed by the business owners two days
    later (which activates those of the lower tiers) and by the validator two days after that
    where the tier asks for a second signature, before the 90 days of metrics; the revision a
    week ago."""
    signed = now - timedelta(days=THRESHOLDS_SIGNED_DAYS_AGO)

    def propose() -> list[Step]:
        proposed = _propose_thresholds(counts=counts)
        return [
            Step(
                signed - timedelta(days=2),
                "business owners sign the thresholds",
                lambda: _sign_thresholds(proposed, "business_owner", password),
            ),
            Step(
                signed,
                "the validator signs the thresholds",
                lambda: _sign_thresholds(proposed, "validator", password),
            ),
        ]

    return [
        Step(signed - timedelta(days=4), "thresholds proposed", propose),
        Step(
            now - timedelta(days=REVISION_DAYS_AGO),
            "threshold revision",
            lambda: _seed_pending_revision(counts=counts),
        ),
    ]


def _bump(counts: dict[str, int], kind: str, n: int = 1) -> None:
    counts[kind] = counts.get(kind, 0) + n


def _propose_thresholds(*, counts: dict[str, int]) -> list[Threshold]:
    """The metrics and the thresholds that are missing, each submitted for sign-off by its
    model's owner."""
    admin = User.objects.get(username="admin")
    metrics = {}
    for name, description, unit, direction in METRICS:
        metric = MetricDefinition.objects.filter(name=name).first()
        if metric is None:
            metric = services.metric_definition_create(
                actor=admin, name=name, description=description, unit=unit, direction=direction
            )
            _bump(counts, "metrics")
        metrics[name] = metric
    review_by = timezone.localdate() + timedelta(days=365)
    models = {m.slug: m for m in RegisteredModel.objects.select_related("owner", "business_owner")}
    proposed = []
    for spec in ACTIVE:
        model = models.get(spec.model)
        if model is None:
            continue
        metric = metrics[spec.metric]
        if Threshold.objects.filter(model=model, metric=metric, segment=spec.segment).exists():
            continue
        version = model.versions.filter(version=spec.version).first() if spec.version else None
        if spec.version and version is None:
            continue
        threshold = services.threshold_create(
            actor=model.owner,
            model=model,
            version=version,
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
        proposed.append(threshold)
        _bump(counts, "thresholds")
    return proposed


def _sign_thresholds(thresholds: list[Threshold], signer: str, password: str) -> None:
    """Each threshold's sign-off signed by its model's business owner or by the validator."""
    validator = User.objects.get(username="validator")
    for threshold in thresholds:
        threshold.refresh_from_db()
        approver = threshold.model.business_owner if signer == "business_owner" else validator
        _sign(threshold.signoff_request, [approver], password)


def _seed_pending_revision(*, counts: dict[str, int]) -> None:
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
        _bump(counts, "threshold revisions submitted")


def demo_anchor(now: datetime | None = None) -> datetime:
    """Today's midnight (UTC): the time of the demo's last observations."""
    now = now or clock.now()
    return now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def _months_before(anchor: datetime, n: int) -> list[datetime]:
    """The first days of the ``n`` months before the anchor's month (oldest first)."""
    months = anchor.year * 12 + anchor.month - 1
    return [datetime(m // 12, m % 12 + 1, 1, tzinfo=UTC) for m in range(months - n, months)]


def series_values(spec: DemoSeries, anchor: datetime, rng) -> tuple[list[datetime], np.ndarray]:
    """The times and values of one demo series ending at ``anchor``."""
    if spec.monthly:
        times = _months_before(anchor, 12)
    else:
        count = int(spec.days * 24 / spec.hours)
        times = [anchor - timedelta(hours=spec.hours * k) for k in range(count - 1, -1, -1)]
    days_ago = np.array([(anchor - t).total_seconds() / 86400 for t in times])
    level = np.full(days_ago.size, spec.level)
    if spec.shift_days_ago is not None:
        progress = np.clip((spec.shift_days_ago - days_ago) / spec.ramp_days, 0, 1)
        level = level + (spec.shift_to - spec.level) * progress
    values = level + rng.normal(0, spec.noise, days_ago.size)
    values = np.round(np.clip(values, spec.low, spec.high), spec.decimals)
    return times, values


def _csv(slug: str, rows: list[tuple]) -> bytes:
    """The rows as the CSV a model's pipeline pushes (see the ingestion's columns)."""
    versions, metrics, times, values = zip(*rows, strict=True)
    return (
        pd.DataFrame(
            {
                "model": slug,
                "version": versions,
                "metric": metrics,
                "value": values,
                "timestamp": [t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") for t in times],
                "segment": "",
            }
        )
        .to_csv(index=False)
        .encode()
    )


def load_batch(slug: str, rows: list[tuple], *, name: str, counts: dict[str, int]) -> None:
    """One demo batch of a model's rows, sent by its owner and run in this process through
    the ingestion service, like a pushed file (stored, parsed, validated, loaded, evaluated
    and audited by the service itself).

    ``rows`` name their version and metric; rows of a version that does not exist (yet) are
    left out, as the series of a model without that version always were.
    """
    model = RegisteredModel.objects.select_related("owner").get(slug=slug)
    versions = set(model.versions.values_list("version", flat=True))
    rows = [row for row in rows if row[0] in versions]
    if not rows:
        return
    batch, created = ingestion.ingestion_batch_create(
        user=model.owner,
        source=IngestionSource.DEMO,
        data=_csv(slug, rows),
        file_name=name,
        scope_model=model,
    )
    if not created:
        return  # this content was sent for this model before
    # The job queued with the batch finds it finished and does nothing.
    batch = ingestion.ingestion_batch_run(batch_id=batch.pk)
    if batch.status != BatchStatus.SUCCEEDED:
        raise RuntimeError(f"Demo batch {name} did not load: {batch.status}. {batch.error}")
    _bump(counts, "observations", batch.rows_loaded)
    _bump(counts, "ingestion batches")


def _series_steps(anchor: datetime, counts: dict[str, int]) -> list[Step]:
    """The demo series of every model that has no demo batch yet, as weekly batches, each
    loaded an hour after its week ends, so it is evaluated as it would have been then."""
    rng = np.random.default_rng(RNG_SEED)
    models = {m.slug: m for m in RegisteredModel.objects.all()}
    seeded = set(
        IngestionBatch.objects.filter(source=IngestionSource.DEMO).values_list(
            "scope_model__slug", flat=True
        )
    )
    rows: dict[str, dict[int, list[tuple]]] = {}
    for spec in SERIES:
        # Every series is drawn, seeded or not, so each keeps its values from run to run.
        times, values = series_values(spec, anchor, rng)
        model = models.get(spec.model)
        if model is None or spec.model in seeded or model.status == LifecycleStatus.RETIRED:
            continue
        week_of = rows.setdefault(spec.model, {})
        for t, v in zip(times, values.tolist(), strict=True):
            week = max(0, int((anchor - t).total_seconds() // (BATCH_DAYS * 86400)))
            week_of.setdefault(week, []).append((spec.version, spec.metric, t, v))
    steps = []
    for slug, weeks in rows.items():
        for week, week_rows in weeks.items():
            start = (anchor - timedelta(days=BATCH_DAYS * (week + 1))).date()
            steps.append(
                Step(
                    anchor - timedelta(days=BATCH_DAYS * week) + timedelta(hours=1),
                    f"metrics of {slug} from {start}",
                    partial(
                        load_batch,
                        slug,
                        week_rows,
                        name=f"demo-{slug}-{start:%Y-%m-%d}.csv",
                        counts=counts,
                    ),
                )
            )
    return steps


# --- failed-delivery-predictor: drift of the postcode feature --------------------------------

DRIFT_ROWS = 1500
DRIFT_WEEKS = 12
DISTRICTS = ("M14", "M20", "LS6", "LS11", "B12", "B29", "NG7", "BS5", "CF24", "G12", "EH6", "L15")


def _delivery_sample(rng, rows: int, full_postcode_share: float) -> bytes:
    """Parcels as the model sees them; a share of the postcodes arrive in the new upstream
    format (the full postcode, e.g. ``M14 5TP``, instead of the district ``M14``)."""
    district = rng.choice(DISTRICTS, rows)
    full = rng.random(rows) < full_postcode_share
    inward = rng.integers(1, 10, rows).astype(str)
    letters = rng.choice(list("ABDEFGHJLNPQRSTUWXYZ"), (rows, 2))
    postcode = np.where(
        full, np.char.add(np.char.add(np.char.add(district, " "), inward), letters[:, 0]), district
    )
    frame = pd.DataFrame(
        {
            "postcode_district": postcode,
            "address_type": rng.choice(["house", "flat", "business", "locker"], rows),
            "slot": rng.choice(["morning", "afternoon", "evening"], rows, p=[0.45, 0.4, 0.15]),
            "parcel_weight_kg": np.round(rng.gamma(2.0, 1.4, rows), 2),
            "predicted_eta_minutes": np.round(rng.normal(240, 55, rows), 1),
        }
    )
    return frame.to_csv(index=False).encode()


def _drift_steps(anchor: datetime, now: datetime, counts: dict[str, int]) -> list[Step]:
    """Weekly drift runs of the failed-delivery predictor against its training sample, each
    on the day it was observed."""
    version = ModelVersion.objects.filter(
        model__slug="failed-delivery-predictor", version="1.1.0"
    ).first()
    if version is None or DriftRun.objects.filter(version=version).exists():
        return []
    rng = np.random.default_rng(RNG_SEED + 1)
    reference = _delivery_sample(rng, DRIFT_ROWS, 0.0)
    steps = []
    for week in range(DRIFT_WEEKS, -1, -1):
        observed_at = anchor - timedelta(days=7 * week) + timedelta(hours=3)
        days_after = POSTCODE_CHANGE_DAYS_AGO - (anchor - observed_at).total_seconds() / 86400
        # The upstream rolled the new format out over two days.
        share = float(np.clip(days_after / 2, 0, 1))
        if observed_at > now:
            observed_at = anchor
        current = (f"parcels-{observed_at:%Y-%m-%d}.csv", _delivery_sample(rng, DRIFT_ROWS, share))
        steps.append(
            Step(
                observed_at,
                f"drift run of {observed_at:%Y-%m-%d}",
                partial(_drift_run, version, reference, current, observed_at, counts),
            )
        )
    return steps


def _drift_run(version, reference: bytes, current: tuple[str, bytes], observed_at, counts) -> None:
    run = drift_run_create(
        user=version.model.owner,
        version=version,
        reference=("training-sample-2025-03.csv", reference),
        current=current,
        observed_at=observed_at,
    )
    # Computed here, in the seed's transaction; the task queued on commit finds it done.
    drift_run_execute(run_id=run.pk)
    _bump(counts, "drift runs")


# --- payment-anomaly-prioritiser: the rejected candidate -------------------------------------


def _register_candidate(counts: dict[str, int]) -> None:
    """The retrained candidate, registered and staged for shadow scoring."""
    slug, name = CANDIDATE
    model = RegisteredModel.objects.filter(slug=slug).select_related("owner").first()
    if model is None:
        return
    version = model.versions.filter(version=name).first()
    if version is not None:
        return
    version = inventory_services.model_version_register(
        actor=model.owner,
        model=model,
        version=name,
        description="Re-ranker retrained on 2025 analyst outcomes with two new beneficiary "
        "features; scored in shadow mode next to 1.0.0.",
        artifact_uri=f"s3://model-registry/{slug}/{name}/model.bin",
        artifact_sha256=hashlib.sha256(f"{slug}@{name}".encode()).hexdigest(),
        code_commit=hashlib.sha1(f"{slug}@{name}".encode(), usedforsecurity=False).hexdigest()[:12],
        hyperparameters={"n_estimators": 300, "C": 0.8, "class_weight": "balanced"},
        evaluation_metrics={"precision_at_200": 0.24, "recall_at_2000": 0.79},
        training_datasets=list(
            Dataset.objects.filter(
                slug__in=["payment-transactions-2024", "analyst-review-outcomes-2024"]
            )
        ),
    )
    inventory_services.model_version_set_stage(
        actor=model.owner, version=version, stage=VersionStage.STAGING
    )
    _bump(counts, "versions")


def _decide_all(
    request: ApprovalRequest, *, validator: User, password: str, verdict: str, comment=""
):
    """Each open slot decided by the model's business owner or the validator."""
    for slot in request.required_slots:
        request.refresh_from_db()
        if not request.is_open:
            return
        approver = (
            request.model.business_owner if slot == ApproverRole.BUSINESS_OWNER else validator
        )
        approval_decide(
            actor=approver, request=request, verdict=verdict, password=password, comment=comment
        )


def _candidate() -> ModelVersion | None:
    """The candidate, if it exists and has no promotion request yet."""
    slug, name = CANDIDATE
    version = (
        ModelVersion.objects.select_related("model__owner", "model__business_owner")
        .filter(model__slug=slug, version=name)
        .first()
    )
    if version is None:
        return None
    exists = ApprovalRequest.objects.filter(
        kind=ApprovalKind.PROMOTION,
        subject_type="inventory.modelversion",
        subject_id=str(version.pk),
    ).exists()
    return None if exists else version


def _validate_candidate(*, password: str, counts: dict[str, int]) -> None:
    """The validator signs off the retrained re-ranker while it scores in shadow mode."""
    version = _candidate()
    if version is None or has_approved_validation(version):
        return
    validator = User.objects.get(username="validator")
    request = approval_request_create(
        actor=version.model.owner,
        kind=ApprovalKind.VALIDATION_SIGNOFF,
        subject=version,
        justification="Validation of the retrained re-ranker before its shadow review.",
    )
    _decide_all(request, validator=validator, password=password, verdict=Verdict.APPROVE)
    _bump(counts, "approval requests")


def _reject_candidate(*, password: str, counts: dict[str, int]) -> None:
    """Validated, proposed for production and rejected by the business owner, who cites the
    alert-rate shift of the shadow run."""
    version = _candidate()
    if version is None:
        return
    _validate_candidate(password=password, counts=counts)
    model, owner = version.model, version.model.owner
    users = {u.username: u for u in User.objects.filter(username__in=["admin", "validator"])}
    if review_gate_refusal(model):
        # The periodic review is overdue; the committee asked to hear the candidate anyway.
        gate_lift(
            actor=users["admin"],
            model=model,
            gate=GateOverride.Gate.OVERDUE_REVIEW,
            reason="Lifted for one day so the model risk committee can decide on candidate "
            f"{version.version} while the periodic review is completed.",
            days=1,
        )
    request = approval_request_create(
        actor=owner,
        kind=ApprovalKind.PROMOTION,
        subject=version,
        justification=f"{CANDIDATE_SHADOW_DAYS} days in shadow mode: precision at 200 up from "
        "0.21 to 0.24 on the 2025 analyst outcomes.",
    )
    _bump(counts, "approval requests")
    old, new = _mean_alert_rate(model, "1.0.0"), _mean_alert_rate(model, version.version)
    approval_decide(
        actor=model.business_owner,
        request=request,
        verdict=Verdict.REJECT,
        password=password,
        comment=REJECTION_COMMENT.format(days=CANDIDATE_SHADOW_DAYS, old=old, new=new),
    )


def _mean_alert_rate(model: RegisteredModel, version: str) -> float:
    since = clock.now() - timedelta(days=CANDIDATE_SHADOW_DAYS)
    mean = Observation.objects.filter(
        version__model=model,
        version__version=version,
        metric__name="alert_rate",
        segment="",
        timestamp__gte=since,
    ).aggregate(mean=Avg("value"))["mean"]
    return mean or 0.0


#: When the candidate was registered, validated and rejected (days before the demo anchor).
CANDIDATE_REGISTERED_DAYS_AGO = CANDIDATE_SHADOW_DAYS + 1
CANDIDATE_VALIDATED_DAYS_AGO = 4


@transaction.atomic
def seed_monitoring(*, password: str | None = None, now: datetime | None = None) -> dict[str, int]:
    """Create what is missing of the metric stories (needs ``seed_thresholds`` first):
    the payment candidate version, 90 days of evaluated observations per model, the drift
    runs of the failed-delivery predictor and the candidate's rejected promotion.

    Idempotent: a model with demo batches, a version with drift runs and a candidate with a
    promotion request are left as they are. Returns counts of what was created.
    """
    counts = dict.fromkeys(
        ("versions", "observations", "ingestion batches", "drift runs", "approval requests"), 0
    )
    run_story(monitoring_steps(password=_password(password), now=now or clock.now(), counts=counts))
    return counts


def monitoring_steps(*, password: str, now: datetime, counts: dict[str, int]) -> list[Step]:
    """The metric stories as dated steps: the weekly batches, the drift runs, the candidate
    registered for its 30 days in shadow mode, validated and, once the last batch is in,
    rejected."""
    anchor = demo_anchor(now)
    return [
        Step(
            anchor - timedelta(days=CANDIDATE_REGISTERED_DAYS_AGO),
            "candidate registered",
            lambda: _register_candidate(counts),
        ),
        *_series_steps(anchor, counts),
        *_drift_steps(anchor, now, counts),
        Step(
            anchor - timedelta(days=CANDIDATE_VALIDATED_DAYS_AGO),
            "candidate validated",
            lambda: _validate_candidate(password=password, counts=counts),
        ),
        Step(
            anchor + timedelta(hours=2),
            "candidate rejected",
            lambda: _reject_candidate(password=password, counts=counts),
        ),
    ]
