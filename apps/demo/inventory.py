"""The demo inventory's history: users, business units, datasets, twelve models walked
along their lifecycle, deployments, feeds, and the requests left waiting.

Idempotent: users are looked up by username and everything else by slug or code; what exists
is skipped, so a second run neither fails nor duplicates. Every write goes through the
services, so the audit trail tells the story of the demo data like that of real data.

Sign-offs go through the approval engine like real ones: the model owner asks for validation
sign-off, promotion and retirement; the validator and the named business owner sign with the
demo password. Some requests are left waiting in the business owners' inboxes.

The data (who, which models, which states) is in ``apps.demo.data``; this module only writes
it, as dated steps of the story (``apps.demo.story``).
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from functools import partial

from django.utils import timezone

from apps.accounts.models import User
from apps.accounts.services import user_create
from apps.approvals.choices import ApprovalKind, ApproverRole, Verdict
from apps.approvals.models import ApprovalRequest
from apps.approvals.services import approval_decide, approval_request_create
from apps.audit.models import AuditEvent
from apps.demo import monitoring as demo_monitoring
from apps.demo import reviews as demo_reviews
from apps.demo.data.inventory import (
    DATASETS,
    FEEDS,
    MODELS,
    PENDING_REQUESTS,
    TIER_PROPOSAL,
    DemoDeployment,
    DemoModel,
    DemoRisk,
    DemoVersion,
)
from apps.demo.data.users import BUSINESS_UNITS, DEMO_USERS
from apps.demo.story import Step, StoryClock, run_story
from apps.inventory import services
from apps.inventory.approvals import has_approved_validation
from apps.inventory.choices import LifecycleStatus, RiskAssessmentStatus, VersionStage
from apps.inventory.models import (
    BusinessUnit,
    Dataset,
    ModelDependency,
    ModelVersion,
    RegisteredModel,
)

#: When the story starts (days before the seeding), when the first model is registered and
#: how many days later each next one is.
STORY_START_DAYS_AGO = 451
MODEL_START_DAYS_AGO = 440
MODEL_SPACING_DAYS = 30


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _commit(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8"), usedforsecurity=False).hexdigest()


class Seeder:
    """Creates what is missing, through the services, and counts what it did."""

    def __init__(self, password: str, *, now=None, clock: StoryClock | None = None):
        self.password = password
        self.users: dict[str, User] = {}
        self.units: dict[str, BusinessUnit] = {}
        self.datasets: dict[str, Dataset] = {}
        self.created: dict[str, int] = {}
        self.skipped: dict[str, int] = {}
        self.clock = clock
        # The real time: review dates and the story's dates are counted from it.
        self.now = now or timezone.now()
        self.today = timezone.localdate(self.now)
        self.new_models: set[str] = set()

    def _count(self, kind: str, *, created: bool) -> None:
        bucket = self.created if created else self.skipped
        bucket[kind] = bucket.get(kind, 0) + 1

    def _days_ago(self, days: float):
        return self.now - timedelta(days=days)

    def pause(self, days: float) -> None:
        """Let the story's time pass between two steps of a model's history."""
        if self.clock is not None:
            self.clock.advance(days=days)

    def story(self) -> list[Step]:
        """The demo's history as dated steps: accounts and datasets about fifteen months
        ago, one model after another over the following months (each assessed, validated
        and promoted over a few weeks), deployments on their dates, feeds, signed
        thresholds before the 90 days of metrics, then the requests still waiting."""
        registered = {
            spec.slug: MODEL_START_DAYS_AGO - MODEL_SPACING_DAYS * i
            for i, spec in enumerate(MODELS)
        }
        steps = [
            Step(self._days_ago(450), "users", self.seed_users),
            Step(self._days_ago(449), "business units", self.seed_business_units),
            Step(self._days_ago(445), "datasets", self.seed_datasets),
        ]
        for spec in MODELS:
            steps.append(
                Step(
                    self._days_ago(registered[spec.slug]),
                    f"model {spec.slug}",
                    partial(self.seed_model, spec),
                )
            )
            steps += [
                Step(
                    self._days_ago(dep.days_ago),
                    f"deployment of {spec.slug}",
                    partial(self.seed_deployment, spec, dep),
                )
                for dep in spec.deployments
            ]
        # A feed is recorded a week after the later of its two models was registered.
        steps += [
            Step(
                self._days_ago(min(registered[up], registered[down]) - 7),
                f"feed {up} → {down}",
                partial(self.seed_feed, up, down, description),
            )
            for up, down, description in FEEDS
        ]
        steps += [
            *self.governance_steps(),
            Step(self._days_ago(6), "pending requests", self.seed_pending_requests),
            Step(self._days_ago(4), "pending tier proposal", self.seed_pending_tier_proposal),
        ]
        return steps

    def run(self) -> None:
        run_story(self.story(), clock=self.clock)

    def seed_pending_tier_proposal(self) -> None:
        """A reassessment whose tier the validator proposed; it waits for validator2."""
        model = RegisteredModel.objects.get(slug=TIER_PROPOSAL["model"])
        if model.risk_assessments.filter(status=RiskAssessmentStatus.AWAITING_APPROVAL).exists():
            self._count("risk assessments", created=False)
            return
        assessment = services.risk_assessment_submit(
            actor=self.users[TIER_PROPOSAL["assessor"]],
            model=model,
            answers=TIER_PROPOSAL["answers"],
            eu_ai_act_class=TIER_PROPOSAL["eu_class"],
        )
        self._count("risk assessments", created=True)
        services.risk_assessment_decide(
            actor=self.users["validator"],
            assessment=assessment,
            tier=assessment.suggested_tier,
            reason=TIER_PROPOSAL["reason"],
        )
        self._count("approval requests", created=True)

    def governance_steps(self) -> list[Step]:
        """Signed thresholds (one revision pending sign-off), 90 days of metrics with their
        stories (breach, incident, drift, a rejected candidate), an overdue review and
        findings."""

        def reviews() -> None:
            self._add(demo_reviews.seed_reviews(today=self.today))

        return [
            *demo_monitoring.threshold_steps(
                password=self.password, now=self.now, counts=self.created
            ),
            Step(
                self._days_ago(95),
                "metric stories",
                lambda: demo_monitoring.monitoring_steps(
                    password=self.password, now=self.now, counts=self.created
                ),
            ),
            Step(self._days_ago(14), "reviews and findings", reviews),
        ]

    def _add(self, counts: dict[str, int]) -> None:
        for kind, n in counts.items():
            if n:
                self.created[kind] = self.created.get(kind, 0) + n

    # --- approvals ---------------------------------------------------------------------

    def sign_off(
        self,
        kind: str,
        subject,
        *,
        requester: User,
        justification: str = "",
        leave_open: tuple[str, ...] = (),
    ) -> ApprovalRequest:
        """Request approval of ``subject`` and have the demo approvers sign each required
        slot with the demo password, except the slots in ``leave_open`` (left pending)."""
        request = approval_request_create(
            actor=requester, kind=kind, subject=subject, justification=justification
        )
        self._count("approval requests", created=True)
        for slot in request.required_slots:
            if slot in leave_open:
                continue
            self.pause(1)
            approver = (
                request.model.business_owner
                if slot == ApproverRole.BUSINESS_OWNER
                else self.users["validator"]
            )
            approval_decide(
                actor=approver, request=request, verdict=Verdict.APPROVE, password=self.password
            )
        request.refresh_from_db()
        return request

    def _validate(self, version: ModelVersion, *, requester: User) -> None:
        self.sign_off(ApprovalKind.VALIDATION_SIGNOFF, version, requester=requester)

    def _promote(self, version: ModelVersion, *, requester: User, **kwargs) -> ApprovalRequest:
        """Promotion; a Tier 1-2 version is first validated, as the gate requires."""
        version.refresh_from_db()
        version.model.refresh_from_db()
        if (version.model.risk_tier or 1) in (1, 2) and not has_approved_validation(version):
            self._validate(version, requester=requester)
        return self.sign_off(ApprovalKind.PROMOTION, version, requester=requester, **kwargs)

    def seed_pending_requests(self) -> None:
        """Requests waiting in the business owners' (and the validator's) inboxes."""
        for spec in PENDING_REQUESTS:
            model = RegisteredModel.objects.get(slug=spec.model)
            subject = model if spec.version is None else model.versions.get(version=spec.version)
            exists = ApprovalRequest.objects.filter(
                kind=spec.kind,
                subject_type=subject._meta.label_lower,
                subject_id=str(subject.pk),
            ).exists()
            if exists:
                self._count("approval requests", created=False)
                continue
            waiting = tuple(r for r in ApproverRole.values if r not in spec.signed_by)
            requester = self.users[spec.requester]
            if spec.kind == ApprovalKind.PROMOTION:
                self._promote(
                    subject,
                    requester=requester,
                    justification=spec.justification,
                    leave_open=waiting,
                )
            else:
                self.sign_off(
                    spec.kind,
                    subject,
                    requester=requester,
                    justification=spec.justification,
                    leave_open=waiting,
                )

    def seed_users(self) -> None:
        for spec in DEMO_USERS:
            user = User.objects.filter(username=spec.username).first()
            self._count("users", created=user is None)
            if user is None:
                # The first administrator is created by the system; it creates the others.
                user = user_create(
                    actor=self.users.get("admin"),
                    username=spec.username,
                    password=self.password,
                    role_names=[spec.role],
                    first_name=spec.first_name,
                    last_name=spec.last_name,
                    email=f"{spec.username.replace('_', '.')}@mlgov.example",
                    job_title=spec.job_title,
                    timezone=spec.timezone,
                )
            self.users[spec.username] = user

    def seed_business_units(self) -> None:
        admin = self.users["admin"]
        for code, name in BUSINESS_UNITS:
            unit = BusinessUnit.objects.filter(code=code).first()
            self._count("business units", created=unit is None)
            if unit is None:
                unit = services.business_unit_create(actor=admin, code=code, name=name)
            self.units[code] = unit

    def seed_datasets(self) -> None:
        for spec in DATASETS:
            data = dict(spec)
            slug, owner = data.pop("slug"), self.users[data.pop("owner")]
            dataset = Dataset.objects.filter(slug=slug).first()
            self._count("datasets", created=dataset is None)
            if dataset is None:
                dataset = services.dataset_create(
                    actor=owner,
                    slug=slug,
                    content_hash=_sha256(f"{slug}@{data['version']}"),
                    **data,
                )
            self.datasets[slug] = dataset

    def seed_model(self, spec: DemoModel) -> None:
        if RegisteredModel.objects.filter(slug=spec.slug).exists():
            self._count("models", created=False)
            return
        self._count("models", created=True)
        owner, validator = self.users[spec.owner], self.users["validator"]
        data = dict(spec.fields)
        data["business_unit"] = self.units[data["business_unit"]]
        overdue = spec.review_in_days is not None and spec.review_in_days < 0
        if spec.review_in_days is not None and not overdue:
            data["next_review_date"] = self.today + timedelta(days=spec.review_in_days)
        model = services.registered_model_create(
            actor=owner,
            slug=spec.slug,
            developers=[self.users[name] for name in spec.developers],
            business_owner=self.users[spec.business_owner],
            validator=validator,
            **data,
        )
        if spec.risk is not None:
            self.pause(1)
            self._assess(model, spec.risk, owner=owner, validator=validator)
        versions = {v.version: self._register(model, v, owner) for v in spec.versions}
        self._walk_lifecycle(model, spec, versions, owner=owner, validator=validator)
        if overdue:
            # Set once the model is in place: an overdue review blocks promotions (the gate
            # the demo shows), so the history before it fell due is written first.
            services.registered_model_update(
                actor=validator,
                model=model,
                next_review_date=self.today + timedelta(days=spec.review_in_days),
            )
        self.new_models.add(spec.slug)

    def seed_deployment(self, spec: DemoModel, dep: DemoDeployment) -> None:
        """A deployment of a model this run created, recorded on the day it went live."""
        if spec.slug not in self.new_models:
            return
        version = ModelVersion.objects.select_related("model__owner").get(
            model__slug=spec.slug, version=dep.version
        )
        services.deployment_create(
            actor=version.model.owner,
            version=version,
            environment=dep.environment,
            endpoint=dep.endpoint,
            consumers=dep.consumers,
            deployed_at=self._days_ago(dep.days_ago),
        )
        self._count("deployments", created=True)

    def _assess(self, model, risk: DemoRisk, *, owner, validator) -> None:
        assessment = services.risk_assessment_submit(
            actor=owner,
            model=model,
            answers=risk.answers,
            eu_ai_act_class=risk.eu_class,
            eu_annex_iii_point=risk.annex_point,
        )
        self._count("risk assessments", created=True)
        if risk.decision == "pending":
            return
        self.pause(2)
        tier = assessment.suggested_tier if risk.decision == "confirm" else risk.override_tier
        # The validator proposes; the second validator approves with the demo password.
        proposed = services.risk_assessment_decide(
            actor=validator, assessment=assessment, tier=tier, reason=risk.reason
        )
        self._count("approval requests", created=True)
        self.pause(1)
        approval_decide(
            actor=self.users["validator2"],
            request=proposed.approval_request,
            verdict=Verdict.APPROVE,
            password=self.password,
        )

    def _register(self, model, spec: DemoVersion, owner):
        self._count("versions", created=True)
        self.pause(1)
        return services.model_version_register(
            actor=owner,
            model=model,
            version=spec.version,
            description=spec.description,
            artifact_uri=f"s3://model-registry/{model.slug}/{spec.version}/model.bin",
            artifact_sha256=_sha256(f"{model.slug}@{spec.version}"),
            code_commit=_commit(f"{model.slug}@{spec.version}")[:12],
            hyperparameters=spec.hyperparameters,
            evaluation_metrics=spec.metrics,
            training_datasets=[self.datasets[s] for s in spec.training],
            evaluation_datasets=[self.datasets[s] for s in spec.evaluation],
        )

    def _walk_lifecycle(self, model, spec: DemoModel, versions, *, owner, validator) -> None:
        """Move the model and its versions along the legal path to the wanted state; the
        sign-offs (validation, promotion, retirement) are approved requests."""
        order = [
            LifecycleStatus.DEVELOPMENT,
            LifecycleStatus.VALIDATION,
            LifecycleStatus.APPROVED,
            LifecycleStatus.PRODUCTION,
            LifecycleStatus.RETIRED,
        ]
        reach = order.index(spec.status)
        for v in spec.versions:
            if v.stage == VersionStage.STAGING:
                services.model_version_set_stage(
                    actor=owner, version=versions[v.version], stage=VersionStage.STAGING
                )
        if reach >= order.index(LifecycleStatus.VALIDATION):
            self.pause(3)
            model = services.registered_model_transition(
                actor=owner, model=model, target=LifecycleStatus.VALIDATION
            )
        # Archived versions were once in production: promote them in order, so each
        # promotion archives its predecessor, ending with the current one.
        promoted = [v for v in spec.versions if v.stage == VersionStage.ARCHIVED]
        promoted += [v for v in spec.versions if v.stage == VersionStage.PRODUCTION]
        if reach >= order.index(LifecycleStatus.APPROVED):
            # The validation that approves the model is of its first production version, or
            # else of the candidate in staging.
            candidates = promoted or [v for v in spec.versions if v.stage == VersionStage.STAGING]
            self.pause(5)
            self._validate(versions[candidates[0].version], requester=owner)
        if reach >= order.index(LifecycleStatus.PRODUCTION):
            for v in promoted:
                self.pause(6)
                self._promote(versions[v.version], requester=owner)
        else:
            for v in spec.versions:
                if v.stage == VersionStage.ARCHIVED:
                    services.model_version_set_stage(
                        actor=owner, version=versions[v.version], stage=VersionStage.ARCHIVED
                    )
        if reach >= order.index(LifecycleStatus.RETIRED):
            # Retirement winds down the production version and deployments itself.
            self.pause(20)
            self.sign_off(
                ApprovalKind.RETIREMENT,
                RegisteredModel.objects.get(pk=model.pk),
                requester=owner,
                justification=spec.retirement_reason,
            )

    def seed_feed(self, upstream_slug: str, downstream_slug: str, description: str) -> None:
        exists = ModelDependency.objects.filter(
            upstream__slug=upstream_slug, downstream__slug=downstream_slug
        ).exists()
        self._count("model feeds", created=not exists)
        if exists:
            return
        downstream = RegisteredModel.objects.get(slug=downstream_slug)
        services.model_dependency_create(
            actor=downstream.owner,
            upstream=RegisteredModel.objects.get(slug=upstream_slug),
            downstream=downstream,
            description=description,
        )


def story_start(now):
    """Where the story's clock starts: 451 days before ``now``, or after the latest audit
    event when the database already holds later history (the trail never goes back)."""
    start = now - timedelta(days=STORY_START_DAYS_AGO)
    latest = AuditEvent.objects.order_by("-pk").values_list("occurred_at", flat=True).first()
    if latest is not None and latest >= start:
        start = min(latest + timedelta(milliseconds=1), now - StoryClock.MARGIN)
    return start
