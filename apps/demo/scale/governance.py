"""Thresholds, incidents, periodic reviews and findings of the scale inventory.

Bulk path, as in ``apps.demo.scale.inventory``: rows with the values the services leave and
the audit events they write (create snapshots from the services' audited-field lists, status
moves as transitions). Threshold sign-offs, review attestations and risk acceptances are
requests written by ``apps.demo.scale.approvals`` like the inventory's.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from apps.approvals.choices import ApprovalKind, RequestStatus
from apps.audit import diff
from apps.audit.models import AuditEvent
from apps.core import roles
from apps.demo.scale import words
from apps.demo.scale.context import Scale, set_stamps
from apps.demo.scale.inventory import Plan, Request
from apps.incidents.choices import EventKind, IncidentStatus, SeriousCategory, Severity
from apps.incidents.models import Incident, IncidentEvent
from apps.incidents.services import AUDITED_FIELDS as INCIDENT_AUDITED_FIELDS
from apps.inventory.choices import LifecycleStatus, VersionStage
from apps.monitoring.choices import (
    Evaluation,
    ThresholdStatus,
    default_breach_direction,
)
from apps.monitoring.models import Threshold
from apps.monitoring.services import THRESHOLD_AUDITED_FIELDS
from apps.reviews.choices import FindingStatus, ReviewOutcome, ReviewStatus
from apps.reviews.choices import Severity as FindingSeverity
from apps.reviews.models import Finding, Review
from apps.reviews.services import FINDING_AUDITED_FIELDS, REVIEW_AUDITED_FIELDS

A = AuditEvent.Action
METRIC_SPECS = {m[0]: m for m in words.METRICS}


def _t(scale: Scale, rng: random.Random, after: datetime, lo: float, hi: float) -> datetime:
    limit = scale.now - timedelta(days=1)
    moment = min(after + timedelta(days=rng.uniform(lo, hi)), limit)
    return max(moment, after).replace(microsecond=0)


class GovernanceBuilder:
    def __init__(self, scale: Scale):
        self.scale = scale
        self.rng = scale.rng("governance")
        self.thresholds: list[tuple[Threshold, list]] = []  # (row, steps)
        self.today = scale.now.date()

    # --- thresholds -------------------------------------------------------------------------

    def plan_thresholds(self) -> None:
        rng, scale = self.rng, self.scale
        for plan in scale.plans:
            m = plan.model
            if m.status not in (LifecycleStatus.APPROVED, LifecycleStatus.PRODUCTION):
                continue
            start = m.approved_at or m.created_at
            names = plan.metrics if plan.heavy else plan.metrics[: rng.randint(2, 3)]
            for name in names:
                self._threshold_family(plan, name, start)

    def _new(
        self,
        plan: Plan,
        name: str,
        *,
        warning: float,
        critical: float,
        created: datetime,
        supersedes=None,
        evaluation=Evaluation.LATEST,
    ) -> Threshold:
        spec = METRIC_SPECS[name]
        metric = self.scale.metrics[name]
        rng = self.rng
        window = rng.choice((7, 14, 30)) if evaluation != Evaluation.LATEST else None
        t = Threshold(
            model=plan.model,
            segment="",
            metric=metric,
            direction=default_breach_direction(spec[2]),
            warning_bound=warning,
            critical_bound=critical,
            evaluation=evaluation,
            window_days=window,
            min_samples=1 if window is None else 5,
            rationale=(
                f"{name} below its validated level by more than the agreed tolerance triggers "
                "a review; the critical bound is where the model stops being fit for purpose."
            ),
            review_by=self.today + timedelta(days=rng.randint(30, 400)),
            status=ThresholdStatus.DRAFT,
            supersedes=supersedes,
            created_by_id=plan.model.owner_id,
        )
        t._created = created
        return t

    def _threshold_family(self, plan: Plan, name: str, start: datetime) -> None:
        rng, scale = self.rng, self.scale
        spec = METRIC_SPECS[name]
        warning, critical = spec[5], spec[6]
        evaluation = Evaluation.LATEST if plan.heavy or rng.random() < 0.8 else Evaluation.MEAN
        created = _t(scale, rng, start, 1, 20)
        previous = None
        if rng.random() < 0.2 and not plan.heavy:
            # An older threshold, superseded by the current one.
            old = self._new(
                plan,
                name,
                warning=warning,
                critical=critical,
                created=created,
                evaluation=evaluation,
            )
            old.warning_bound = round(warning * (1.02 if critical < warning else 0.98), 4)
            self._signed(plan, old, created, final=ThresholdStatus.SUPERSEDED)
            previous = old
            created = _t(scale, rng, old._activated, 30, 200)
        roll = rng.random()
        current = self._new(
            plan,
            name,
            warning=warning,
            critical=critical,
            created=created,
            supersedes=previous,
            evaluation=evaluation,
        )
        if plan.heavy or roll > 0.05:
            self._signed(plan, current, created, final=ThresholdStatus.ACTIVE)
            if previous is not None:
                previous._ended = current._activated
            if not plan.heavy and rng.random() < 0.07:
                revision = self._new(
                    plan,
                    name,
                    warning=round(warning * 0.99, 4),
                    critical=critical,
                    created=_t(scale, rng, current._activated, 20, 300),
                    supersedes=current,
                    evaluation=evaluation,
                )
                if rng.random() < 0.75:
                    self._request(plan, revision, RequestStatus.PENDING)
                    revision.status = ThresholdStatus.PENDING_SIGNOFF
                    self.thresholds.append((revision, [("submit", revision._created)]))
                else:
                    self.thresholds.append((revision, []))
        elif roll > 0.03:
            self._request(plan, current, RequestStatus.REJECTED)
            current.status = ThresholdStatus.REJECTED
            self.thresholds.append((current, [("submit", created), ("rejected", None)]))
        elif roll > 0.015:
            self._signed(plan, current, created, final=ThresholdStatus.EXPIRED)
            current.review_by = self.today - timedelta(days=rng.randint(1, 60))
        else:
            self.thresholds.append((current, []))  # a draft

    def _request(self, plan: Plan, threshold: Threshold, status: str) -> Request:
        rng = self.rng
        at = _t(self.scale, rng, threshold._created, 0.1, 3)
        closed = None if status == RequestStatus.PENDING else _t(self.scale, rng, at, 1, 8)
        request = Request(
            kind=ApprovalKind.THRESHOLD_SIGNOFF,
            model=plan.model,
            subject=threshold,
            requester_id=plan.model.owner_id,
            at=at,
            status=status,
            closed_at=closed,
            signed=("business_owner",) if rng.random() < 0.5 else (),
        )
        threshold._submitted = at
        threshold._closed = closed

        def link(row, threshold=threshold):
            threshold.signoff_request_id = row.pk

        request.on_request.append(link)
        self.scale.requests.append(request)
        return request

    def _signed(self, plan: Plan, threshold: Threshold, created: datetime, *, final: str) -> None:
        self._request(plan, threshold, RequestStatus.APPROVED)
        threshold._activated = threshold._closed
        threshold.status = final
        threshold.activated_at = threshold._closed
        steps = [("submit", threshold._submitted), ("active", threshold._closed)]
        if final == ThresholdStatus.EXPIRED:
            steps.append(("expired", None))
        if final == ThresholdStatus.SUPERSEDED:
            steps.append(("superseded", None))
        self.thresholds.append((threshold, steps))

    def write_thresholds(self) -> None:
        rows = [t for t, _ in self.thresholds]
        # A threshold after the one it supersedes (a revision of a revision: three rounds).
        left = rows
        while left:
            ready = [t for t in left if t.supersedes is None or t.supersedes.pk is not None]
            for t in ready:
                t.supersedes = t.supersedes  # its id, now saved
            Threshold.objects.bulk_create(ready, batch_size=1000)
            left = [t for t in left if t.pk is None]
        self.scale.thresholds = rows

    def finish_thresholds(self) -> None:
        """After the requests exist: link each threshold to its sign-off request, give the
        rows their dates and write their history."""
        scale = self.scale
        rows = [t for t, _ in self.thresholds]
        ended = {}
        for t, _steps in self.thresholds:
            if t.status == ThresholdStatus.SUPERSEDED:
                ended[t.pk] = getattr(t, "_ended", None) or _t(
                    scale, self.rng, t._activated, 60, 300
                )
            elif t.status == ThresholdStatus.EXPIRED:
                ended[t.pk] = max(
                    datetime.combine(
                        t.review_by + timedelta(days=1),
                        datetime.min.time(),
                        tzinfo=scale.now.tzinfo,
                    ),
                    t._activated + timedelta(hours=1),
                )
            elif t.status == ThresholdStatus.REJECTED:
                ended[t.pk] = t._closed
            t.ended_at = ended.get(t.pk)
        Threshold.objects.bulk_update(rows, ["signoff_request", "ended_at"], batch_size=1000)
        stamps = []
        for t, steps in self.thresholds:
            model = t.model
            draft = dict(diff.snapshot(t, THRESHOLD_AUDITED_FIELDS))
            draft.update(
                status=ThresholdStatus.DRAFT, signoff_request=None, activated_at=None, ended_at=None
            )
            scale.event(
                t._created,
                t.created_by_id,
                A.CREATE,
                "monitoring.threshold",
                t.pk,
                str(t),
                model_ref=model.pk,
                changes=diff.created(draft),
                message=(
                    f"Revision of threshold #{t.supersedes_id}; that one applies "
                    "until this is signed."
                )
                if t.supersedes_id
                else "",
            )
            last = t._created
            for step, _at in steps:
                if step == "submit":
                    at, changes = (
                        t._submitted,
                        {
                            "status": {
                                "before": ThresholdStatus.DRAFT,
                                "after": ThresholdStatus.PENDING_SIGNOFF,
                            },
                            "signoff_request": {"before": None, "after": t.signoff_request_id},
                        },
                    )
                    actor, message = (
                        model.owner_id,
                        f"Sign-off requested (request #{t.signoff_request_id}).",
                    )
                elif step == "active":
                    at, changes = (
                        t._closed,
                        {
                            "status": {
                                "before": ThresholdStatus.PENDING_SIGNOFF,
                                "after": ThresholdStatus.ACTIVE,
                            },
                            "activated_at": {"before": None, "after": t.activated_at},
                        },
                    )
                    actor = model.business_owner_id
                    message = f"Signed off (request #{t.signoff_request_id}): now applies."
                elif step == "rejected":
                    at, changes = (
                        t._closed,
                        {
                            "status": {
                                "before": ThresholdStatus.PENDING_SIGNOFF,
                                "after": ThresholdStatus.REJECTED,
                            },
                            "ended_at": {"before": None, "after": t.ended_at},
                        },
                    )
                    actor, message = model.business_owner_id, "Sign-off rejected."
                else:
                    at = t.ended_at
                    changes = {
                        "status": {"before": ThresholdStatus.ACTIVE, "after": step},
                        "ended_at": {"before": None, "after": t.ended_at},
                    }
                    actor = None if step == "expired" else model.business_owner_id
                    message = (
                        "Review date passed."
                        if step == "expired"
                        else "Superseded by its revision."
                    )
                if at is None:
                    continue
                scale.event(
                    at,
                    actor,
                    A.TRANSITION,
                    "monitoring.threshold",
                    t.pk,
                    str(t),
                    model_ref=model.pk,
                    changes=changes,
                    message=message,
                )
                last = max(last, at)
            stamps.append((t.pk, {"created_at": t._created, "updated_at": last}))
        set_stamps(Threshold, stamps)

    # --- incidents --------------------------------------------------------------------------

    def write_incidents(self) -> None:
        rng, scale = self.rng, self.scale
        candidates = [p for p in scale.plans if p.model.deployed_at and not p.heavy]
        if not candidates:
            return
        n = max(5, scale.options.models * 3 // 100)
        active_thresholds = {}
        for t in scale.thresholds:
            if t.status == ThresholdStatus.ACTIVE:
                active_thresholds.setdefault(t.model_id, []).append(t)
        statuses = (
            (IncidentStatus.OPEN, 0.2),
            (IncidentStatus.INVESTIGATING, 0.2),
            (IncidentStatus.MITIGATED, 0.15),
            (IncidentStatus.RESOLVED, 0.2),
            (IncidentStatus.CLOSED, 0.25),
        )
        order = list(IncidentStatus.values)
        used_thresholds = set()
        incidents, timelines = [], []
        for k in range(n):
            plan = rng.choice(candidates)
            m = plan.model
            status = rng.choices([s for s, _ in statuses], weights=[w for _, w in statuses])[0]
            if k < len(statuses):
                status = statuses[k][0]  # every status, however few incidents
            detected = _t(scale, rng, m.deployed_at, 1, 500)
            severity = rng.choice(Severity.values)
            threshold = None
            pool = [t for t in active_thresholds.get(m.pk, []) if t.pk not in used_thresholds]
            if pool and rng.random() < 0.5:
                threshold = rng.choice(pool)
                if status in (
                    IncidentStatus.OPEN,
                    IncidentStatus.INVESTIGATING,
                    IncidentStatus.MITIGATED,
                ):
                    used_thresholds.add(threshold.pk)
            serious = rng.random() < 0.06
            title = (
                f"{threshold.metric.name} critical on {m.name}"
                if threshold
                else rng.choice(
                    (
                        f"Score drift on {m.name}",
                        f"Scoring outage of {m.name}",
                        f"Complaints about decisions of {m.name}",
                        f"Data feed delay for {m.name}",
                    )
                )
            )
            incident = Incident(
                reference="",
                model=m,
                title=title[:200],
                severity=Severity.SEV2 if threshold else severity,
                status=IncidentStatus.OPEN,
                description="Detected by monitoring; impact under assessment.",
                impact="Decisions made while degraded are being reviewed.",
                threshold=threshold,
                assignee_id=m.owner_id,
                detected_at=detected,
                created_by_id=None if threshold else rng.choice(scale.by_role[roles.VALIDATOR]),
            )
            if serious:
                incident.serious_category = SeriousCategory.FUNDAMENTAL_RIGHTS
                incident.awareness_at = detected + timedelta(hours=rng.randint(1, 48))
                incident.reporting_deadline = incident.awareness_at + timedelta(days=15)
            incident._created = detected
            incident._create_snapshot = diff.snapshot(incident, INCIDENT_AUDITED_FIELDS)
            steps = []
            t = detected
            for target in order[1 : order.index(status) + 1]:
                t = _t(scale, rng, t, 0.2, 10)
                steps.append((target, t))
                if target == IncidentStatus.RESOLVED:
                    incident.resolved_at = t
                    incident.root_cause = "Upstream data change shifted an input distribution."
                    incident.corrective_actions = "Feed fixed; model recalibrated and monitored."
                if target == IncidentStatus.CLOSED:
                    incident.closed_at = t
                    if serious:
                        incident.reported_at = min(t, incident.reporting_deadline)
            incident.status = status
            incidents.append(incident)
            timelines.append(steps)
        # References in order of detection, numbered per year as the service does.
        pairs = sorted(zip(incidents, timelines, strict=True), key=lambda p: p[0].detected_at)
        counters: dict[int, int] = {}
        for incident, _ in pairs:
            year = incident.detected_at.year
            counters[year] = counters.get(year, 0) + 1
            incident.reference = f"INC-{year}-{counters[year]:04d}"
            incident._create_snapshot["reference"] = incident.reference
        Incident.objects.bulk_create([i for i, _ in pairs], batch_size=1000)
        through = Incident.affected_versions.through
        links, events, stamps = [], [], []
        for incident, steps in pairs:
            plan = next(p for p in [scale.plan_by_id[incident.model_id]])
            live = [
                v
                for v in plan.versions
                if v.stage in (VersionStage.PRODUCTION, VersionStage.ARCHIVED)
            ]
            if live:
                links.append(through(incident_id=incident.pk, modelversion_id=live[-1].pk))
            actor = incident.created_by_id
            scale.event(
                incident.detected_at,
                actor,
                A.CREATE,
                "incidents.incident",
                incident.pk,
                str(incident),
                model_ref=incident.model_id,
                changes=diff.created(incident._create_snapshot),
            )
            events.append(
                IncidentEvent(
                    incident=incident,
                    kind=EventKind.CREATED,
                    actor_id=actor,
                    at=incident.detected_at,
                    text=incident.description,
                )
            )
            previous = IncidentStatus.OPEN
            for target, at in steps:
                who = incident.assignee_id
                scale.event(
                    at,
                    who,
                    A.TRANSITION,
                    "incidents.incident",
                    incident.pk,
                    str(incident),
                    model_ref=incident.model_id,
                    changes={"status": {"before": previous, "after": target}},
                )
                events.append(
                    IncidentEvent(
                        incident=incident,
                        kind=EventKind.STATUS,
                        actor_id=who,
                        at=at,
                        from_status=previous,
                        to_status=target,
                    )
                )
                previous = target
            last = steps[-1][1] if steps else incident.detected_at
            stamps.append((incident.pk, {"created_at": incident.detected_at, "updated_at": last}))
        through.objects.bulk_create(links, batch_size=1000)
        IncidentEvent.objects.bulk_create(events, batch_size=2000)
        set_stamps(Incident, stamps)

    # --- reviews and findings -----------------------------------------------------------------

    def plan_reviews(self) -> None:
        """Periodic reviews of models in production (attested, open, submitted with a request
        waiting, returned) and findings in every status, some overdue."""
        rng, scale = self.rng, self.scale
        validators = scale.by_role[roles.VALIDATOR]
        reviews, findings = [], []
        for plan in scale.plans:
            m = plan.model
            if m.status != LifecycleStatus.PRODUCTION or m.risk_tier is None:
                continue
            if rng.random() > 0.45:
                continue
            roll = rng.random()
            status = (
                ReviewStatus.ATTESTED
                if roll < 0.7
                else ReviewStatus.OPEN
                if roll < 0.85
                else ReviewStatus.SUBMITTED
                if roll < 0.95
                else ReviewStatus.REJECTED
            )
            created = _t(scale, rng, m.deployed_at, 30, 400)
            reviewer = rng.choice(validators)
            review = Review(
                model=m,
                reviewer_id=reviewer,
                scope="Annual review: performance against thresholds, data drift, use and limits.",
                status=ReviewStatus.OPEN,
                due_date=m.next_review_date or (created + timedelta(days=30)).date(),
                created_by_id=reviewer,
            )
            review._created = created
            review._closed = None
            review._snapshot = diff.snapshot(review, REVIEW_AUDITED_FIELDS)
            if status != ReviewStatus.OPEN:
                review.outcome = rng.choice(
                    (
                        ReviewOutcome.SATISFACTORY,
                        ReviewOutcome.SATISFACTORY,
                        ReviewOutcome.REMEDIATION_NEEDED,
                    )
                )
                review.notes = "Performance within bounds; documentation up to date."
                review.reviewed_on = _t(scale, rng, created, 5, 30).date()
                review.submitted_at = _t(scale, rng, created, 10, 40)
                review.status = status
                kind_status = {
                    ReviewStatus.ATTESTED: RequestStatus.APPROVED,
                    ReviewStatus.SUBMITTED: RequestStatus.PENDING,
                    ReviewStatus.REJECTED: RequestStatus.REJECTED,
                }[status]
                closed = (
                    None
                    if kind_status == RequestStatus.PENDING
                    else _t(scale, rng, review.submitted_at, 1, 10)
                )
                review._closed = closed
                if status == ReviewStatus.ATTESTED:
                    review.attested_at = closed
                scale.requests.append(
                    Request(
                        kind=ApprovalKind.REVIEW_ATTESTATION,
                        model=m,
                        subject=review,
                        requester_id=reviewer,
                        at=review.submitted_at,
                        status=kind_status,
                        closed_at=closed,
                    )
                )
            reviews.append(review)
            if rng.random() < 0.35:
                findings.append(self._finding(plan, review, created))
        for plan in rng.sample(scale.plans, k=min(len(scale.plans), scale.options.models // 15)):
            if plan.model.risk_tier is not None:
                findings.append(self._finding(plan, None, _t(scale, rng, plan.created, 20, 400)))
        self.reviews, self.findings = reviews, findings

    def _finding(self, plan: Plan, review, created) -> Finding:
        rng, scale = self.rng, self.scale
        roll = rng.random()
        status = (
            FindingStatus.OPEN
            if roll < 0.4
            else FindingStatus.REMEDIATED
            if roll < 0.6
            else FindingStatus.RISK_ACCEPTED
            if roll < 0.7
            else FindingStatus.CLOSED
        )
        due = (created + timedelta(days=rng.randint(30, 180))).date()
        finding = Finding(
            model=plan.model,
            review=review,
            title=rng.choice(
                (
                    "Out-of-time performance not evidenced",
                    "Fairness metrics missing for a protected group",
                    "Monitoring thresholds not aligned with the validation report",
                    "Documentation of data lineage incomplete",
                    "Override process lacks an audit trail",
                )
            ),
            severity=rng.choice(FindingSeverity.values),
            description="Found during validation; see the review notes for the evidence requested.",
            owner_id=plan.model.owner_id,
            due_date=due,
            status=FindingStatus.OPEN,
            created_by_id=rng.choice(scale.by_role[roles.VALIDATOR]),
        )
        finding._created = created
        finding._snapshot = None
        finding._final = status
        return finding

    def write_reviews_rows(self) -> None:
        scale = self.scale
        Review.objects.bulk_create(self.reviews, batch_size=1000)
        for f in self.findings:
            f.review = f.review  # its id, now saved
            f._snapshot = diff.snapshot(f, FINDING_AUDITED_FIELDS)
        for f in self.findings:
            if f._final != FindingStatus.OPEN:
                f.status = f._final
                f.evidence = "Remediation evidence attached to the model file."
                f.status_changed_at = _t(scale, self.rng, f._created, 10, 120)
        Finding.objects.bulk_create(self.findings, batch_size=1000)
        set_stamps(Review, [(r.pk, {"created_at": r._created}) for r in self.reviews])
        set_stamps(
            Finding,
            [
                (f.pk, {"created_at": f._created, "updated_at": f.status_changed_at or f._created})
                for f in self.findings
            ],
        )

    def finish_reviews(self) -> None:
        """The reviews' and findings' history (after their attestation requests exist)."""
        scale = self.scale
        for r in self.reviews:
            scale.event(
                r._created,
                r.created_by_id,
                A.CREATE,
                "reviews.review",
                r.pk,
                str(r),
                model_ref=r.model_id,
                changes=diff.created(r._snapshot),
            )
            if r.submitted_at:
                changes = diff.diff(r._snapshot, diff.snapshot(r, REVIEW_AUDITED_FIELDS))
                changes.pop("attested_at", None)
                changes["status"] = {"before": ReviewStatus.OPEN, "after": ReviewStatus.SUBMITTED}
                scale.event(
                    r.submitted_at,
                    r.reviewer_id,
                    A.TRANSITION,
                    "reviews.review",
                    r.pk,
                    str(r),
                    model_ref=r.model_id,
                    changes=changes,
                )
            if r.status in (ReviewStatus.ATTESTED, ReviewStatus.REJECTED) and r._closed:
                changes = {"status": {"before": ReviewStatus.SUBMITTED, "after": r.status}}
                if r.attested_at:
                    changes["attested_at"] = {"before": None, "after": r.attested_at}
                scale.event(
                    r._closed,
                    None,
                    A.TRANSITION,
                    "reviews.review",
                    r.pk,
                    str(r),
                    model_ref=r.model_id,
                    changes=changes,
                )
        for f in self.findings:
            scale.event(
                f._created,
                f.created_by_id,
                A.CREATE,
                "reviews.finding",
                f.pk,
                str(f),
                model_ref=f.model_id,
                changes=diff.created(f._snapshot),
            )
            if f.status_changed_at:
                scale.event(
                    f.status_changed_at,
                    f.created_by_id,
                    A.TRANSITION,
                    "reviews.finding",
                    f.pk,
                    str(f),
                    model_ref=f.model_id,
                    changes={
                        "status": {"before": FindingStatus.OPEN, "after": f.status},
                        "evidence": {"before": "", "after": f.evidence},
                    },
                )
