"""The scale inventory: datasets, registered models with their owners, risk assessments,
versions in every stage, deployments and lineage, each model walked along its lifecycle.

Bulk path: rows are ``bulk_create``-d with the values the services would leave (the model's
tier from its approved assessment, its status and dates from its transitions, a version's
stage and lock from its sign-offs), and each step of a model's history is recorded as the
audit event the service writes (create snapshots from the services' own audited-field lists,
transitions and updates as before/after changes), so that the audit trail rebuilds every
row's history. The sign-offs themselves (requests and signed decisions) are planned here and
written by ``apps.demo.scale.approvals``.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from apps.approvals.choices import ApprovalKind, RequestStatus
from apps.audit import diff
from apps.audit.chain import normalise
from apps.audit.models import AuditEvent
from apps.core import roles
from apps.demo.scale import words
from apps.demo.scale.context import Scale, set_stamps
from apps.inventory import risk
from apps.inventory.choices import (
    DatasetRole,
    DeploymentEnvironment,
    DeploymentStatus,
    EUAIActClass,
    LifecycleStatus,
    Origin,
    RiskAssessmentStatus,
    VersionStage,
)
from apps.inventory.models import (
    Dataset,
    Deployment,
    ModelDependency,
    ModelVersion,
    RegisteredModel,
    RiskAssessment,
    VersionDataset,
)
from apps.inventory.services.datasets import DATASET_AUDITED_FIELDS
from apps.inventory.services.lineage import DEPLOYMENT_AUDITED_FIELDS
from apps.inventory.services.registered_models import MODEL_AUDITED_FIELDS
from apps.inventory.services.versions import VERSION_AUDITED_FIELDS

A = AuditEvent.Action
HEAVY_SLUG = "scale-heavy-model"

STATUS_WEIGHTS = (
    (LifecycleStatus.DEVELOPMENT, 0.12),
    (LifecycleStatus.VALIDATION, 0.08),
    (LifecycleStatus.APPROVED, 0.05),
    (LifecycleStatus.PRODUCTION, 0.62),
    (LifecycleStatus.RETIRED, 0.13),
)
TIER_WEIGHTS = ((1, 0.17), (2, 0.38), (3, 0.45))
ANNEX_POINTS = {"Retail credit": "5(b)", "Mortgage": "5(b)", "Insurance": "5(c)", "HR": "4(a)"}


def _pick(rng: random.Random, weighted):
    values, weights = zip(*weighted, strict=True)
    return rng.choices(values, weights=weights)[0]


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class Request:
    """A sign-off to write: who asked what when, and how it ended."""

    kind: str
    model: RegisteredModel
    subject: Any
    requester_id: int
    at: datetime
    status: str
    #: When it closed (approved, rejected, ...): the last decision's time.
    closed_at: datetime | None = None
    justification: str = ""
    note: str = ""
    #: Filled by approvals: slots already signed on a pending request.
    signed: tuple[str, ...] = ()
    #: The validator a validator slot is signed by (else one is picked).
    validator_id: int | None = None
    on_request: list = field(default_factory=list)


@dataclass
class Plan:
    """One model: its row, its versions and the steps of its history."""

    created: datetime
    model: RegisteredModel
    domain: int
    subject: str
    segment: str
    developers: list[int]
    create_snapshot: dict
    steps: list = field(default_factory=list)  # (at, actor, action, changes, message)
    versions: list[ModelVersion] = field(default_factory=list)
    version_links: list[list[tuple[str, Dataset]]] = field(default_factory=list)
    version_steps: list[list] = field(default_factory=list)
    version_snapshots: list[dict] = field(default_factory=list)
    assessments: list[RiskAssessment] = field(default_factory=list)
    deployments: list[Deployment] = field(default_factory=list)
    metrics: list[str] = field(default_factory=list)
    heavy: bool = False


def _tier_answers(rng: random.Random, tier: int, eu_class: str) -> tuple[dict, Any]:
    levels = {1: ("high", "high", "medium"), 2: ("high", "medium", "low"), 3: ("medium", "low")}
    best = None
    for _ in range(30):
        answers = {name: rng.choice(levels[tier]) for name in risk.FACTORS}
        suggestion = risk.suggest_tier(answers, eu_class)
        best = (answers, suggestion)
        if suggestion.tier == tier:
            break
    return best


class InventoryBuilder:
    def __init__(self, scale: Scale):
        self.scale = scale
        self.rng = scale.rng("inventory")
        self.requests: list[Request] = []
        self.plans: list[Plan] = []
        self.datasets: list[Dataset] = []
        self.today = scale.now.date()
        self.forced: dict[str, int] = {}

    # --- people ---------------------------------------------------------------------------

    def _named_share(self) -> int:
        """On how many models the demo's business owner and model owner are named."""
        return max(3, min(45, self.scale.options.models // 20))

    def _role(self, role: str) -> list[int]:
        return self.scale.by_role.get(role, [])

    # --- datasets -------------------------------------------------------------------------

    def build_datasets(self) -> None:
        rng, scale = self.rng, self.scale
        n = max(10, scale.options.models // 5)
        owners = self._role(roles.MODEL_OWNER)
        times = sorted(
            scale.start + timedelta(days=rng.uniform(0, scale.options.history_days * 0.8))
            for _ in range(n)
        )
        rows = []
        for i, when in enumerate(times):
            domain = words.DOMAINS[rng.randrange(len(words.DOMAINS))][0]
            subject = rng.choice(words.DATASET_SUBJECTS)
            year = when.year - rng.randint(0, 2)
            name = f"{domain} {subject} {year}"
            slug = f"{words.slugify(name)}-{i + 1:05d}"
            owner = rng.choice(owners)
            rows.append(
                Dataset(
                    slug=slug,
                    name=name,
                    description=f"Curated {subject} of the {domain.lower()} domain, {year}.",
                    uri=f"s3://data-lake/curated/{slug}/",
                    version=f"{year}-{rng.randint(1, 12):02d}",
                    content_hash=_sha(slug),
                    owner_id=owner,
                    created_by_id=owner,
                    contains_personal_data=rng.random() < 0.6,
                    motivation=f"Built to develop and monitor {domain.lower()} models.",
                    composition=f"{rng.randint(50, 9000)} thousand rows of {subject}.",
                    collection_process="Monthly extract from the system of record.",
                    preprocessing="Direct identifiers pseudonymised; outliers winsorised.",
                    known_gaps="Recent months carry immature outcomes.",
                )
            )
        Dataset.objects.bulk_create(rows, batch_size=1000)
        set_stamps(
            Dataset,
            [(d.pk, {"created_at": t, "updated_at": t}) for d, t in zip(rows, times, strict=True)],
        )
        for dataset, when in zip(rows, times, strict=True):
            dataset.created_at = dataset.updated_at = when
            scale.event(
                when,
                dataset.owner_id,
                A.CREATE,
                "inventory.dataset",
                dataset.pk,
                str(dataset),
                changes=diff.created(diff.snapshot(dataset, DATASET_AUDITED_FIELDS)),
            )
        self.datasets = rows
        scale.datasets = rows

    # --- models ---------------------------------------------------------------------------

    def plan_models(self) -> None:
        rng, scale = self.rng, self.scale
        n = scale.options.models
        span = scale.options.history_days - 60
        created = sorted(
            (scale.start + timedelta(days=rng.uniform(0, span))).replace(microsecond=0)
            for _ in range(n)
        )
        owners = self._role(roles.MODEL_OWNER)
        business = self._role(roles.BUSINESS_OWNER)
        validators = self._role(roles.VALIDATOR)
        named = self._named_share()
        demo_mo, demo_bo = scale.people["model_owner"], scale.people["business_owner"]
        others_mo = [u for u in owners if u != demo_mo]
        others_bo = [u for u in business if u != demo_bo]
        mo_slots = set(rng.sample(range(n), min(named, n)))
        bo_slots = set(rng.sample(range(n), min(named, n)))
        heavy_index = rng.randrange(n // 4, max(n // 4 + 1, n // 2))
        units = scale.units
        unit_weights = [rng.uniform(0.3, 3.0) for _ in units]
        for i, when in enumerate(created):
            heavy = i == heavy_index
            domain = 0 if heavy else rng.randrange(len(words.DOMAINS))
            name, subject, segment = words.model_name(rng, domain, i + 1)
            dname, _subjects, algorithms, mtype, purpose = words.DOMAINS[domain]
            slug = HEAVY_SLUG if heavy else words.slugify(name)
            if heavy:
                name, subject, segment = (
                    "Retail credit PD — SME 0001 (heavy monitoring)",
                    "PD",
                    "SME",
                )
            status = LifecycleStatus.PRODUCTION if heavy else _pick(rng, STATUS_WEIGHTS)
            tier = 1 if heavy else _pick(rng, TIER_WEIGHTS)
            if status == LifecycleStatus.DEVELOPMENT and rng.random() < 0.6:
                tier = None
            owner = demo_mo if i in mo_slots else rng.choice(others_mo)
            bo = demo_bo if i in bo_slots else rng.choice(others_bo)
            developers = sorted(set(rng.sample(others_mo, k=rng.choice((0, 0, 1, 1, 2)))) - {owner})
            vendor = rng.random() < 0.12 and not heavy
            model = RegisteredModel(
                slug=slug,
                name=name,
                description=(
                    f"{subject} model for {segment} ({dname.lower()}), built with "
                    f"{rng.choice(algorithms)}."
                ),
                purpose=purpose.format(subject=subject, segment=segment),
                out_of_scope_uses="Any use outside the stated population and purpose.",
                intended_users=f"{dname} analysts and decision systems",
                business_unit=units[rng.choices(range(len(units)), weights=unit_weights)[0]],
                origin=Origin.VENDOR if vendor else Origin.IN_HOUSE,
                vendor=rng.choice(words.VENDORS) if vendor else "",
                owner_id=owner,
                business_owner_id=bo,
                validator_id=rng.choice(validators),
                model_type=mtype,
                algorithm=rng.choice(algorithms),
                inputs=f"{segment} {subject} features at decision time",
                outputs=f"{subject} score between 0 and 1",
                downstream_consumers=f"{dname} decision engine",
                limitations="Performance degrades on populations unlike the training sample.",
                assumptions="Input distributions stay close to the development sample.",
                ethical_considerations="Protected characteristics are excluded and monitored.",
                explainability="SHAP values per decision; reason codes for adverse outcomes.",
                human_oversight_contact=f"{dname} model risk desk",
                status=LifecycleStatus.DEVELOPMENT,
                status_changed_at=when,
                created_by_id=owner,
            )
            model.developers_ids = developers
            plan = Plan(
                created=when,
                model=model,
                domain=domain,
                subject=subject,
                segment=segment,
                developers=developers,
                create_snapshot={},
                heavy=heavy,
            )
            plan.create_snapshot = {
                **diff.snapshot(model, MODEL_AUDITED_FIELDS),
                "developers": developers,
            }
            metric_names = [m[0] for m in words.METRICS]
            plan.metrics = (
                ["auc", "gini", "psi", "calibration.brier", "approval_rate"]
                if heavy
                else rng.sample(metric_names, rng.randint(3, 5))
            )
            self._walk(plan, when, status=status, tier=tier)
            self._reconcile(plan)
            self.plans.append(plan)

    def _t(self, after: datetime, lo: float, hi: float) -> datetime:
        """A moment ``lo``..``hi`` days after ``after``, never later than two days ago."""
        limit = self.scale.now - timedelta(days=2)
        moment = after + timedelta(days=self.rng.uniform(lo, hi))
        moment = min(moment, limit - timedelta(seconds=self.rng.randint(1, 3600)))
        return max(moment, after).replace(microsecond=0)

    def _set(self, plan: Plan, at, actor, action, data: dict, message: str = "") -> None:
        """Change the model row and record the change (as ``audited_update`` would)."""
        model = plan.model
        names = [k.removesuffix("_id") for k in data]
        before = diff.snapshot(model, names)
        for name, value in data.items():
            setattr(model, name, value)
        changes = diff.diff(before, diff.snapshot(model, names))
        if changes:
            plan.steps.append((at, actor, action, changes, message))

    def _walk(self, plan: Plan, created: datetime, *, status: str, tier: int | None) -> None:
        rng = self.rng
        model = plan.model
        owner = model.owner_id
        validators = self._role(roles.VALIDATOR)
        demo_validator = self.scale.people["validator"]
        dname = words.DOMAINS[plan.domain][0]
        # Risk assessment: questionnaire by the owner, tier proposed by one validator and
        # approved by another.
        t = created
        if tier is not None:
            high = tier == 1 and dname in ANNEX_POINTS and rng.random() < 0.6
            eu = (
                EUAIActClass.HIGH_RISK
                if high
                else rng.choice((EUAIActClass.LIMITED, EUAIActClass.MINIMAL, EUAIActClass.MINIMAL))
            )
            point = ANNEX_POINTS[dname] if high else ""
            answers, suggestion = _tier_answers(rng, tier, eu)
            t = self._t(created, 1, 6)
            decided = self._t(t, 1, 5)
            proposer = rng.choice([v for v in validators if v != demo_validator] or validators)
            approver = rng.choice([v for v in validators if v != proposer])
            overridden = suggestion.tier != tier
            assessment = RiskAssessment(
                answers={**answers, "eu_annex_iii_point": point},
                eu_ai_act_class=eu,
                suggested_tier=suggestion.tier,
                suggested_rationale=suggestion.rationale,
                points=suggestion.points,
                assessed_by_id=owner,
                assessed_at=t,
                status=RiskAssessmentStatus.OVERRIDDEN
                if overridden
                else RiskAssessmentStatus.CONFIRMED,
                decided_tier=tier,
                decision_reason=(
                    "Overridden: the questionnaire understates the model's reach."
                    if overridden
                    else "Confirmed: the suggestion matches the model's use."
                ),
                decided_by_id=proposer,
                decided_at=decided,
                approved_by_id=approver,
                approved_at=self._t(decided, 0.5, 3),
            )
            plan.assessments.append(assessment)
            self.requests.append(
                Request(
                    kind=ApprovalKind.RISK_TIER_CHANGE,
                    model=model,
                    subject=assessment,
                    requester_id=proposer,
                    at=decided,
                    status=RequestStatus.APPROVED,
                    closed_at=assessment.approved_at,
                    validator_id=approver,
                )
            )
            t = assessment.approved_at
            self._set(
                plan,
                t,
                approver,
                A.UPDATE,
                {
                    "risk_tier": tier,
                    "risk_tier_rationale": assessment.decision_reason,
                    "risk_assessed_by_id": proposer,
                    "risk_assessed_at": t,
                    "eu_ai_act_class": eu,
                    "eu_annex_iii_point": point,
                },
                message=f"Risk tier {tier} approved.",
            )
            if rng.random() < 0.012 and status != LifecycleStatus.RETIRED:
                # A reassessment whose proposal waits for a second validator.
                self._pending_reassessment(plan, t, proposer=proposer)
        elif rng.random() < 0.5:
            # Questionnaire filled in, waiting for a validator.
            answers, suggestion = _tier_answers(rng, 3, EUAIActClass.MINIMAL)
            plan.assessments.append(
                RiskAssessment(
                    answers={**answers, "eu_annex_iii_point": ""},
                    eu_ai_act_class=EUAIActClass.MINIMAL,
                    suggested_tier=suggestion.tier,
                    suggested_rationale=suggestion.rationale,
                    points=suggestion.points,
                    assessed_by_id=owner,
                    assessed_at=self._t(created, 1, 6),
                    status=RiskAssessmentStatus.PENDING,
                )
            )
        # Versions.
        n = 3 if plan.heavy else rng.choice((2, 2, 3))
        times = []
        moment = self._t(created, 0.5, 3)
        for _ in range(n):
            times.append(moment)
            moment = self._t(moment, 40, 200)
        for j, when in enumerate(times):
            self._version(plan, j, when)
        stages = [VersionStage.DEVELOPMENT] * n
        last = times[-1]
        order = list(LifecycleStatus.values)
        reach = order.index(status)
        if reach == 0:
            if rng.random() < 0.3:
                stages[-1] = VersionStage.STAGING
            self._stages(plan, stages, times)
            return
        t = self._t(max(t, times[0]), 3, 12)
        self._set(
            plan,
            t,
            owner,
            A.TRANSITION,
            {
                "status": LifecycleStatus.VALIDATION,
                "status_changed_at": t,
                "validation_started_at": t,
            },
        )
        if reach == 1:
            stages[-1] = VersionStage.STAGING
            self._stages(plan, stages, times)
            if self._forced("in validation", (0.9,), rng.random()) < 0.75:
                self._request(
                    plan,
                    ApprovalKind.VALIDATION_SIGNOFF,
                    n - 1,
                    self._t(t, 1, 10),
                    RequestStatus.PENDING,
                )
            elif self._forced("changes", (0.1,), rng.random()) < 0.5:
                self._request(
                    plan,
                    ApprovalKind.VALIDATION_SIGNOFF,
                    n - 1,
                    self._t(t, 1, 10),
                    RequestStatus.CHANGES_REQUESTED,
                    days=6,
                )
            return
        # Validated: the first version that reaches production (or the staging candidate).
        promoted = list(range(n)) if reach >= 3 else []
        if reach >= 3 and n == 3 and rng.random() < 0.35:
            promoted = [0, 1]  # the third is a candidate
        candidate = promoted[0] if promoted else n - 1
        t = max(t, times[candidate])
        t = self._validate(plan, candidate, self._t(t, 5, 25))
        self._set(
            plan,
            t,
            self._validator_of_last_request(),
            A.TRANSITION,
            {"status": LifecycleStatus.APPROVED, "status_changed_at": t, "approved_at": t},
            message=f"Validation of {plan.versions[candidate].version} signed off.",
        )
        if reach == 2:
            stages[candidate] = VersionStage.STAGING
            for j in range(candidate):
                stages[j] = VersionStage.ARCHIVED
            self._stages(plan, stages, times)
            if rng.random() < 0.7 and not self._overdue(plan):
                self._request(
                    plan,
                    ApprovalKind.PROMOTION,
                    candidate,
                    self._t(t, 1, 10),
                    RequestStatus.PENDING,
                )
            return
        current = None
        for j in promoted:
            if j != candidate:
                t = self._validate(plan, j, self._t(max(t, times[j]), 5, 20))
            t = self._request(
                plan, ApprovalKind.PROMOTION, j, self._t(t, 2, 10), RequestStatus.APPROVED
            )
            if current is not None:
                stages[current] = VersionStage.ARCHIVED
                plan.version_steps[current].append((t, None, {"stage": VersionStage.ARCHIVED}))
            stages[j] = VersionStage.PRODUCTION
            plan.version_steps[j].append((t, None, {"stage": VersionStage.PRODUCTION}))
            if current is None:
                self._set(
                    plan,
                    t,
                    None,
                    A.TRANSITION,
                    {
                        "status": LifecycleStatus.PRODUCTION,
                        "status_changed_at": t,
                        "deployed_at": t,
                    },
                    message=f"Promotion of {plan.versions[j].version} approved.",
                )
            current = j
            self._deploy(plan, j, self._t(t, 0, 2))
        if len(promoted) < n and reach == 3:
            j = n - 1
            stages[j] = VersionStage.STAGING
            roll = self._forced("candidate", (0.1, 0.3, 0.5, 0.6), rng.random())
            if roll < 0.25:
                t2 = self._validate(plan, j, self._t(max(t, times[j]), 3, 15))
                if not self._overdue(plan):
                    self._request(
                        plan,
                        ApprovalKind.PROMOTION,
                        j,
                        self._t(t2, 1, 10),
                        RequestStatus.PENDING,
                        signed=rng.random() < 0.5,
                    )
            elif roll < 0.45:
                t2 = self._validate(plan, j, self._t(max(t, times[j]), 3, 15))
                self._request(
                    plan,
                    ApprovalKind.PROMOTION,
                    j,
                    self._t(t2, 1, 10),
                    RequestStatus.REJECTED,
                    days=4,
                )
            elif roll < 0.55:
                self._request(
                    plan,
                    ApprovalKind.VALIDATION_SIGNOFF,
                    j,
                    self._t(max(t, times[j]), 2, 10),
                    RequestStatus.WITHDRAWN,
                    days=3,
                )
            elif roll < 0.62:
                self._request(
                    plan,
                    ApprovalKind.VALIDATION_SIGNOFF,
                    j,
                    self._t(max(t, times[j]), 2, 10),
                    RequestStatus.STALE,
                    days=3,
                )
        if reach == 4:
            t = self._request(
                plan,
                ApprovalKind.RETIREMENT,
                None,
                self._t(max(t, last), 30, 200),
                RequestStatus.APPROVED,
            )
            reason = "Replaced by a successor model."
            self._set(
                plan,
                t,
                None,
                A.TRANSITION,
                {
                    "status": LifecycleStatus.RETIRED,
                    "status_changed_at": t,
                    "retired_at": t,
                    "retirement_reason": reason,
                },
                message=reason,
            )
            for j in range(n):
                if stages[j] in (VersionStage.PRODUCTION, VersionStage.STAGING):
                    plan.version_steps[j].append((t, None, {"stage": VersionStage.ARCHIVED}))
                stages[j] = VersionStage.ARCHIVED
            for dep in plan.deployments:
                dep.status = DeploymentStatus.INACTIVE
        else:
            for j in range(n):
                if stages[j] == VersionStage.DEVELOPMENT and j < (current or 0):
                    stages[j] = VersionStage.ARCHIVED
        self._stages(plan, stages, times, record=False)
        if tier is not None and status != LifecycleStatus.RETIRED:
            cadence = {1: 365, 2: 730, 3: 1095}[tier]
            due = (t + timedelta(days=cadence)).date() if rng.random() > 0.06 else None
            if due is None or plan.heavy:
                due = self.today + timedelta(days=rng.randint(30, 300))
            elif rng.random() < 0.07 and not self._has_pending_promotion(plan):
                due = self.today - timedelta(days=rng.randint(1, 120))  # overdue
            self._set(
                plan, self._t(t, 0, 1), plan.model.validator_id, A.UPDATE, {"next_review_date": due}
            )

    def _forced(self, key: str, first: tuple[float, ...], drawn: float) -> float:
        """``drawn``, except for the first few times ``key`` is asked: then the values of
        ``first`` in turn, so that every outcome occurs however small the inventory."""
        seen = self.forced.get(key, 0)
        self.forced[key] = seen + 1
        return first[seen] if seen < len(first) else drawn

    def _overdue(self, plan: Plan) -> bool:
        d = plan.model.next_review_date
        return d is not None and d < self.today

    def _has_pending_promotion(self, plan: Plan) -> bool:
        return any(
            r.model is plan.model
            and r.kind == ApprovalKind.PROMOTION
            and r.status == RequestStatus.PENDING
            for r in self.requests[-4:]
        )

    def _validator_of_last_request(self) -> int | None:
        return self.requests[-1].validator_id if self.requests else None

    def _version(self, plan: Plan, j: int, when: datetime) -> None:
        rng, model = self.rng, plan.model
        major, minor = divmod(j, 2)
        number = f"{major + 1}.{minor * 3}.{rng.randint(0, 4)}"
        metrics = {m: round(rng.uniform(0.6, 0.95), 4) for m in plan.metrics[:3]}
        version = ModelVersion(
            model=model,
            version=number,
            description=f"{'Initial' if j == 0 else 'Refit'} release of {model.name}.",
            artifact_uri=f"s3://model-registry/{model.slug}/{number}/model.bin",
            artifact_sha256=_sha(f"{model.slug}@{number}"),
            code_commit=_sha(f"commit {model.slug}@{number}")[:12],
            hyperparameters={
                "learning_rate": round(rng.uniform(0.01, 0.2), 3),
                "max_depth": rng.randint(3, 9),
            },
            evaluation_metrics=metrics,
            stage=VersionStage.DEVELOPMENT,
            created_by_id=model.owner_id,
        )
        version._created = when
        links: list[tuple[str, Dataset]] = []
        if self.datasets and rng.random() < 0.6:
            links = [
                (DatasetRole.TRAINED_ON, rng.choice(self.datasets)),
                (DatasetRole.EVALUATED_ON, rng.choice(self.datasets)),
            ]
        snapshot = diff.snapshot(version, VERSION_AUDITED_FIELDS)
        snapshot["datasets"] = sorted(f"{role}:{ds.slug}" for role, ds in links)
        plan.versions.append(version)
        plan.version_links.append(links)
        plan.version_steps.append([])
        plan.version_snapshots.append(snapshot)

    def _stages(
        self, plan: Plan, stages: list[str], times: list[datetime], record: bool = True
    ) -> None:
        """Set the versions' final stages (``_reconcile`` records the moves not yet recorded)."""
        for j, stage in enumerate(stages):
            plan.versions[j].stage = stage

    def _reconcile(self, plan: Plan) -> None:
        """Record a stage move for every version whose recorded moves do not end in its final
        stage (a candidate put in staging, an old version archived), so that its history
        ends where its row is."""
        for version, steps in zip(plan.versions, plan.version_steps, strict=True):
            state, last = VersionStage.DEVELOPMENT, version._created
            for at, _actor, data in sorted(steps, key=lambda s: s[0]):
                state = data.get("stage", state)
                last = max(last, at)
            if state != version.stage:
                steps.append((self._t(last, 1, 5), plan.model.owner_id, {"stage": version.stage}))

    def _validate(self, plan: Plan, j: int, at: datetime) -> datetime:
        t = self._request(plan, ApprovalKind.VALIDATION_SIGNOFF, j, at, RequestStatus.APPROVED)
        approver = self.requests[-1].validator_id
        plan.version_steps[j].append((t, approver, {"approved_at": t, "approved_by_id": approver}))
        plan.versions[j].approved_at = t
        plan.versions[j].approved_by_id = approver
        return t

    def _request(
        self, plan, kind, j, at, status, *, days: float = 5, signed: bool = False
    ) -> datetime:
        rng = self.rng
        validators = self._role(roles.VALIDATOR)
        closed = None if status == RequestStatus.PENDING else self._t(at, 0.5, days)
        subject = plan.model if j is None else plan.versions[j]
        self.requests.append(
            Request(
                kind=kind,
                model=plan.model,
                subject=subject,
                requester_id=plan.model.owner_id,
                at=at,
                status=status,
                closed_at=closed,
                justification="Retirement: replaced by a successor model."
                if kind == ApprovalKind.RETIREMENT
                else "",
                validator_id=rng.choice(validators),
                signed=("business_owner",) if signed else (),
            )
        )
        return closed or at

    def _pending_reassessment(self, plan: Plan, after: datetime, *, proposer: int) -> None:
        rng = self.rng
        model = plan.model
        eu = model.eu_ai_act_class
        new_tier = model.risk_tier if eu == EUAIActClass.HIGH_RISK else max(1, model.risk_tier - 1)
        answers, suggestion = _tier_answers(rng, new_tier, eu)
        at = self._t(after, 20, 300)
        assessment = RiskAssessment(
            answers={**answers, "eu_annex_iii_point": model.eu_annex_iii_point},
            eu_ai_act_class=eu,
            suggested_tier=suggestion.tier,
            suggested_rationale=suggestion.rationale,
            points=suggestion.points,
            assessed_by_id=model.owner_id,
            assessed_at=at,
            status=RiskAssessmentStatus.AWAITING_APPROVAL,
            decided_tier=new_tier,
            decision_reason="Reassessed after a change in use: exposure has grown.",
            decided_by_id=proposer,
            decided_at=self._t(at, 0.5, 3),
        )
        plan.assessments.append(assessment)
        self.requests.append(
            Request(
                kind=ApprovalKind.RISK_TIER_CHANGE,
                model=model,
                subject=assessment,
                requester_id=proposer,
                at=assessment.decided_at,
                status=RequestStatus.PENDING,
            )
        )

    def _deploy(self, plan: Plan, j: int, at: datetime) -> None:
        model = plan.model
        for dep in plan.deployments:
            if dep.status == DeploymentStatus.ACTIVE:
                dep.status = DeploymentStatus.INACTIVE
        dep = Deployment(
            version=plan.versions[j],
            environment=DeploymentEnvironment.PRODUCTION,
            endpoint=f"https://models.internal.example/{model.slug}/v{plan.versions[j].version}",
            consumers=f"{words.DOMAINS[plan.domain][0]} decision engine",
            status=DeploymentStatus.ACTIVE,
            deployed_at=at,
            created_by_id=model.owner_id,
        )
        dep.created_at = at
        plan.deployments.append(dep)

    # --- writing ----------------------------------------------------------------------------

    def write(self) -> None:
        scale = self.scale
        plans = self.plans
        RegisteredModel.objects.bulk_create([p.model for p in plans], batch_size=1000)
        for p in plans:
            p.model.created_at = p.created
            p.model.updated_at = max([step[0] for step in p.steps], default=p.created)
        set_stamps(
            RegisteredModel,
            [
                (p.model.pk, {"created_at": p.created, "updated_at": p.model.updated_at})
                for p in plans
            ],
        )
        through = RegisteredModel.developers.through
        through.objects.bulk_create(
            [
                through(registeredmodel_id=p.model.pk, user_id=u)
                for p in plans
                for u in p.developers
            ],
            batch_size=2000,
        )
        for p in plans:
            for a in p.assessments:
                a.model = p.model
            for v in p.versions:
                v.model = p.model
        RiskAssessment.objects.bulk_create(
            [a for p in plans for a in p.assessments], batch_size=1000
        )
        versions = [v for p in plans for v in p.versions]
        ModelVersion.objects.bulk_create(versions, batch_size=1000)
        set_stamps(ModelVersion, [(v.pk, {"created_at": v._created}) for v in versions])
        for v in versions:
            v.created_at = v._created
        VersionDataset.objects.bulk_create(
            [
                VersionDataset(version=v, dataset=ds, role=role)
                for p in plans
                for v, links in zip(p.versions, p.version_links, strict=True)
                for role, ds in {(r, d.pk): (r, d) for r, d in links}.values()
            ],
            batch_size=2000,
        )
        deployments = [d for p in plans for d in p.deployments]
        for d in deployments:
            d.version = d.version  # its id, now saved (the cached row kept)
        Deployment.objects.bulk_create(deployments, batch_size=1000)
        set_stamps(Deployment, [(d.pk, {"created_at": d.deployed_at}) for d in deployments])
        self._feeds()
        self._events()
        scale.plans = plans
        scale.requests = self.requests

    def _feeds(self) -> None:
        rng, plans = self.rng, self.plans
        edges = {}
        for _ in range(max(1, len(plans) // 25)):
            a, b = rng.sample(range(len(plans)), 2)
            up, down = plans[min(a, b)].model, plans[max(a, b)].model
            edges[(up.pk, down.pk)] = ModelDependency(
                upstream=up,
                downstream=down,
                description=f"{up.name} scores are an input of {down.name}.",
                created_by_id=down.owner_id,
            )
        rows = list(edges.values())
        ModelDependency.objects.bulk_create(rows, batch_size=1000)
        stamps = []
        for row in rows:
            when = max(row.upstream.created_at, row.downstream.created_at) + timedelta(days=7)
            when = min(when, self.scale.now - timedelta(days=1))
            stamps.append((row.pk, {"created_at": when}))
            self.scale.event(
                when,
                row.created_by_id,
                A.CREATE,
                "inventory.modeldependency",
                row.pk,
                str(row),
                model_ref=row.downstream_id,
                changes=diff.created(
                    {"upstream": row.upstream_id, "downstream": row.downstream_id, "kind": row.kind}
                ),
            )
        set_stamps(ModelDependency, stamps)

    def _events(self) -> None:
        scale = self.scale
        for p in self.plans:
            m = p.model
            scale.event(
                m.created_at,
                m.owner_id,
                A.CREATE,
                "inventory.registeredmodel",
                m.pk,
                m.name,
                model_ref=m.pk,
                changes=diff.created(p.create_snapshot),
            )
            for at, actor, action, changes, message in p.steps:
                scale.event(
                    at,
                    actor,
                    action,
                    "inventory.registeredmodel",
                    m.pk,
                    m.name,
                    model_ref=m.pk,
                    changes=changes,
                    message=message,
                )
            for a in p.assessments:
                scale.event(
                    a.assessed_at,
                    a.assessed_by_id,
                    A.CREATE,
                    "inventory.riskassessment",
                    a.pk,
                    f"Risk assessment of {m.name} ({a.assessed_at:%Y-%m-%d})",
                    model_ref=m.pk,
                    changes=diff.created(
                        {
                            "answers": a.answers,
                            "eu_ai_act_class": a.eu_ai_act_class,
                            "suggested_tier": a.suggested_tier,
                            "points": a.points,
                        }
                    ),
                )
                if a.decided_at:
                    scale.event(
                        a.decided_at,
                        a.decided_by_id,
                        A.DECIDE,
                        "inventory.riskassessment",
                        a.pk,
                        f"Risk assessment of {m.name} ({a.assessed_at:%Y-%m-%d})",
                        model_ref=m.pk,
                        changes={
                            "decided_tier": {"before": None, "after": a.decided_tier},
                            "status": {
                                "before": RiskAssessmentStatus.PENDING,
                                "after": RiskAssessmentStatus.AWAITING_APPROVAL,
                            },
                        },
                        message=a.decision_reason,
                    )
                if a.approved_at:
                    scale.event(
                        a.approved_at,
                        a.approved_by_id,
                        A.TRANSITION,
                        "inventory.riskassessment",
                        a.pk,
                        f"Risk assessment of {m.name} ({a.assessed_at:%Y-%m-%d})",
                        model_ref=m.pk,
                        changes={
                            "status": {
                                "before": RiskAssessmentStatus.AWAITING_APPROVAL,
                                "after": a.status,
                            }
                        },
                    )
            for v, snap, steps in zip(
                p.versions, p.version_snapshots, p.version_steps, strict=True
            ):
                repr_ = f"{m.name} {v.version}"
                scale.event(
                    v.created_at,
                    m.owner_id,
                    A.CREATE,
                    "inventory.modelversion",
                    v.pk,
                    repr_,
                    model_ref=m.pk,
                    changes=diff.created(snap),
                )
                state = dict(snap)
                for at, actor, data in sorted(steps, key=lambda s: s[0]):
                    after = normalise(data)
                    changes = {
                        k.removesuffix("_id"): {
                            "before": state.get(k.removesuffix("_id")),
                            "after": val,
                        }
                        for k, val in after.items()
                        if state.get(k.removesuffix("_id")) != val
                    }
                    for k, val in after.items():
                        state[k.removesuffix("_id")] = val
                    if changes:
                        action = A.TRANSITION if "stage" in changes else A.UPDATE
                        scale.event(
                            at,
                            actor,
                            action,
                            "inventory.modelversion",
                            v.pk,
                            repr_,
                            model_ref=m.pk,
                            changes=changes,
                        )
            for d in p.deployments:
                snap = diff.snapshot(d, DEPLOYMENT_AUDITED_FIELDS)
                snap["status"] = DeploymentStatus.ACTIVE
                scale.event(
                    d.deployed_at,
                    m.owner_id,
                    A.CREATE,
                    "inventory.deployment",
                    d.pk,
                    str(d),
                    model_ref=m.pk,
                    changes=diff.created(snap),
                )
                if d.status == DeploymentStatus.INACTIVE:
                    ended = m.retired_at or next(
                        (o.deployed_at for o in p.deployments if o.deployed_at > d.deployed_at),
                        None,
                    )
                    if ended:
                        scale.event(
                            ended,
                            None,
                            A.TRANSITION,
                            "inventory.deployment",
                            d.pk,
                            str(d),
                            model_ref=m.pk,
                            changes={
                                "status": {
                                    "before": DeploymentStatus.ACTIVE,
                                    "after": DeploymentStatus.INACTIVE,
                                }
                            },
                        )
