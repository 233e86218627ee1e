"""One registered model's record at a time T as a JSON-ready dict: the source of every card.

``model_snapshot`` reads the record as it stood at T: rows are rebuilt from the audit trail
(``apps.reports.history``) and time-stamped rows (decisions, observations, drift runs) are
filtered by their time. ``as_of`` gives T exactly, so a snapshot requested again as of its own
``as_of`` is the same snapshot. The number of queries does not depend on the amount of data.
Callers check permissions first.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db import NotSupportedError, models
from django.db.models import (
    Case,
    Count,
    Func,
    Max,
    Min,
    OuterRef,
    Prefetch,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.utils import timezone

from apps.accounts.roles import ALL_ROLES, ROLE_LABELS
from apps.approvals.choices import ApprovalKind, ApproverRole, RequestStatus, Verdict
from apps.approvals.models import ApprovalRequest, Decision
from apps.audit.models import AuditEvent
from apps.core import clock
from apps.core.errors import ApplicationError
from apps.incidents.choices import IncidentStatus, SeriousCategory
from apps.incidents.models import Incident
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
from apps.inventory.models import (
    BusinessUnit,
    Dataset,
    Deployment,
    ModelDependency,
    ModelVersion,
    RegisteredModel,
    RiskAssessment,
    VersionDataset,
)
from apps.inventory.services import MODEL_AUDITED_FIELDS
from apps.monitoring import bounds
from apps.monitoring.choices import DriftRunStatus, Evaluation, ThresholdStatus
from apps.monitoring.evaluation import outcome
from apps.monitoring.models import DriftColumn, DriftRun, MetricDefinition, Observation, Threshold
from apps.reports.history import Record, audit_head_at, records_as_of
from apps.reviews.choices import FindingStatus, ReviewOutcome, ReviewStatus
from apps.reviews.choices import Severity as FindingSeverity
from apps.reviews.models import Finding, Review

SCHEMA = "mlgov.model-snapshot/1"
#: Days of observations drawn in a metric's chart (one point per day).
SERIES_DAYS = 90
#: Newest audit events listed as the change history.
MAX_CHANGES = 200

#: The model's fields rebuilt as of T: those its audit events record, plus its developers
#: (audited as a list) and when it was registered.
MODEL_FIELDS = (*MODEL_AUDITED_FIELDS, "developers", "created_at")
VERSION_FIELDS = (
    "version",
    "description",
    "artifact_uri",
    "artifact_sha256",
    "code_commit",
    "hyperparameters",
    "evaluation_metrics",
    "stage",
    "approved_at",
    "approved_by",
    "created_by",
    "created_at",
    "datasets",  # virtual: "role:slug" strings, as the inventory services record them
)
DATASET_FIELDS = (
    "slug",
    "name",
    "uri",
    "version",
    "content_hash",
    "owner",
    "contains_personal_data",
)
DEPLOYMENT_FIELDS = ("version", "environment", "endpoint", "consumers", "status", "deployed_at")
DEPENDENCY_FIELDS = ("upstream", "downstream", "kind", "description")
THRESHOLD_FIELDS = (
    "metric",
    "version",
    "segment",
    "direction",
    "warning_bound",
    "critical_bound",
    "evaluation",
    "window_days",
    "min_samples",
    "rationale",
    "review_by",
    "status",
    "signoff_request",
    "activated_at",
    "ended_at",
)
REQUEST_FIELDS = (
    "kind",
    "title",
    "status",
    "requested_by",
    "requested_at",
    "closed_at",
    "content_sha256",
)
INCIDENT_FIELDS = (
    "reference",
    "title",
    "severity",
    "status",
    "description",
    "impact",
    "root_cause",
    "corrective_actions",
    "detected_at",
    "awareness_at",
    "serious_category",
    "reporting_deadline",
    "reported_at",
    "resolved_at",
    "closed_at",
    "affected_versions",  # virtual: version strings, as the incident services record them
)
REVIEW_FIELDS = (
    "reviewer",
    "scope",
    "status",
    "outcome",
    "due_date",
    "reviewed_on",
    "submitted_at",
    "attested_at",
)
FINDING_FIELDS = ("title", "severity", "status", "owner", "due_date", "description")
ASSESSMENT_FIELDS = (
    "assessed_at",
    "assessed_by",
    "eu_ai_act_class",
    "suggested_tier",
    "points",
    "status",
    "decided_tier",
    "decided_at",
    "decision_reason",
)
PERSON_FIELDS = ("username", "first_name", "last_name")

_EVENT_COLUMNS = (
    "sequence",
    "occurred_at",
    "actor_username",
    "action",
    "object_type",
    "object_id",
    "object_repr",
    "model_ref",
    "changes",
    "message",
)


# --- canonical form -----------------------------------------------------------------------


def canonical_bytes(snapshot: dict) -> bytes:
    """The snapshot as canonical JSON: sorted keys, no whitespace, UTF-8."""
    return json.dumps(snapshot, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def snapshot_sha256(snapshot: dict) -> str:
    return hashlib.sha256(canonical_bytes(snapshot)).hexdigest()


# --- the snapshot -------------------------------------------------------------------------


def model_snapshot(*, model: RegisteredModel, as_of: dt.datetime | None = None) -> dict:
    """The record of ``model`` as it stood at ``as_of`` (default: now), following the snapshot
    contract of ``apps.reports``: every key present, only JSON types, times in UTC.

    A time after now means now; a date means the end of that day (UTC).
    Raises ``ApplicationError`` when the model was not registered yet at that time.
    """
    moment, requested = _moment(as_of)
    events = list(
        AuditEvent.objects.filter(model_ref=model.pk).only(*_EVENT_COLUMNS).order_by("sequence")
    )
    people = _People()
    ctx = _Context(model=model, moment=moment, events=events, people=people)

    record = _model_values(ctx)
    versions = _versions(ctx)
    production = next((v for v in versions if v.entry["stage"] == VersionStage.PRODUCTION), None)
    approvals, requests = _approvals(ctx)
    snapshot = {
        "schema": SCHEMA,
        "as_of": _moment_text(moment),
        "as_of_requested": requested,
        "audit_chain_head": audit_head_at(moment),
        "model": _model_section(ctx, record),
        "people": {
            "owner": people(record["owner_id"]),
            "business_owner": people(record["business_owner_id"]),
            "validator": people(record["validator_id"]),
            "developers": [people(pk) for pk in record["developers"] or []],
        },
        "production_version": production.entry if production else None,
        "versions": [v.entry for v in versions],
        "deployments": _deployments(ctx, versions),
        "dependencies": _dependencies(ctx),
        "metrics": _metrics(ctx, versions, production, requests),
        "drift": _drift(ctx),
        "approvals": approvals,
        "incidents": _incidents(ctx),
        "reviews": _reviews(ctx),
        "findings": _findings(ctx),
        "risk_assessments": _risk_assessments(ctx),
        "changes": _changes(ctx),
    }
    snapshot = people.resolve(snapshot, moment=moment)
    snapshot["people"]["developers"].sort(key=lambda p: p["username"])
    return snapshot


class _Context:
    """What every section reads: the model, T, the model's audit events and the people."""

    def __init__(self, *, model, moment, events, people):
        self.model = model
        self.moment = moment
        self.events = events
        self.people = people

    def records(self, queryset, fields, **options) -> list[Record]:
        options.setdefault("model_ref", self.model.pk)
        options.setdefault("events", self.events)
        return records_as_of(queryset, as_of=self.moment, fields=fields, **options)


def _moment(as_of) -> tuple[dt.datetime, bool]:
    now = clock.now()
    if as_of is None:
        moment = now
    else:
        if not isinstance(as_of, dt.datetime):
            if not isinstance(as_of, dt.date):
                raise TypeError("as_of is a datetime or a date.")
            as_of = dt.datetime.combine(as_of, dt.time(23, 59, 59), tzinfo=dt.UTC)
        if timezone.is_naive(as_of):
            as_of = as_of.replace(tzinfo=dt.UTC)
        moment = min(as_of, now)
    return moment.astimezone(dt.UTC), as_of is not None


def _moment_text(moment: dt.datetime) -> str:
    """T itself, to the microsecond when it has a fraction: asked for again, it gives the same
    snapshot (every other time is printed to the second)."""
    if moment.microsecond:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


# --- formatting ---------------------------------------------------------------------------


def _iso(value) -> str | None:
    """UTC ISO 8601 to the second for a time, ``YYYY-MM-DD`` for a date."""
    if value is None:
        return None
    if isinstance(value, str):
        parsed = dt.datetime.fromisoformat(value)
        value = parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
    if isinstance(value, dt.datetime):
        if timezone.is_naive(value):
            value = value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return value.isoformat()


def _number(value) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _label(choices: type[models.Choices], value) -> str:
    if value is None or value == "":
        return ""
    return str(dict(choices.choices).get(value, value))


def _text(value) -> str:
    return value or ""


# --- people -------------------------------------------------------------------------------


class _PersonRef:
    """A user named somewhere in the snapshot, replaced by their person dict at the end."""

    __slots__ = ("pk",)

    def __init__(self, pk):
        self.pk = pk


class _People:
    """Collects the users a snapshot names, then reads them (as of T) in three queries."""

    def __init__(self) -> None:
        self.ids: set = set()

    def __call__(self, pk) -> _PersonRef | None:
        if pk is None:
            return None
        self.ids.add(pk)
        return _PersonRef(pk)

    def resolve(self, data: dict, *, moment: dt.datetime) -> dict:
        persons = _persons_at(self.ids, moment) if self.ids else {}

        def replace(value):
            if isinstance(value, _PersonRef):
                person = persons.get(value.pk) or {
                    "username": f"user-{value.pk}",
                    "name": f"user-{value.pk}",
                    "role_labels": [],
                }
                return {**person, "role_labels": list(person["role_labels"])}
            if isinstance(value, dict):
                return {k: replace(v) for k, v in value.items()}
            if isinstance(value, list):
                return [replace(v) for v in value]
            return value

        return replace(data)


def _persons_at(ids: Iterable, moment: dt.datetime) -> dict[Any, dict]:
    """Username, name and role labels of each user as they were at T."""
    user_model = get_user_model()
    ids = sorted(ids)
    links = user_model.groups.through.objects.filter(user_id__in=ids, group__name__in=ALL_ROLES)
    current_roles: dict[Any, list[str]] = defaultdict(list)
    for user_id, name in links.values_list("user_id", "group__name"):
        current_roles[user_id].append(name)
    records = records_as_of(
        user_model.objects.filter(pk__in=ids),
        as_of=moment,
        fields=(*PERSON_FIELDS, "roles"),
        virtual={"roles": {pk: sorted(names) for pk, names in current_roles.items()}},
        restore_deleted=False,
        existing_only=False,
    )
    persons = {}
    for record in records:
        values = record.values
        full = f"{values['first_name'] or ''} {values['last_name'] or ''}".strip()
        held = set(values["roles"] or [])
        persons[record.pk] = {
            "username": values["username"],
            "name": full or values["username"],
            "role_labels": [ROLE_LABELS[role] for role in ALL_ROLES if role in held],
        }
    return persons


# --- the model ----------------------------------------------------------------------------


def _model_values(ctx: _Context) -> dict[str, Any]:
    records = ctx.records(
        RegisteredModel.objects.filter(pk=ctx.model.pk), MODEL_FIELDS, restore_deleted=False
    )
    if not records:
        raise ApplicationError(
            f"{ctx.model} was not in the inventory yet on {_iso(ctx.moment)}; choose a later date."
        )
    return records[0].values


def _model_section(ctx: _Context, v: dict[str, Any]) -> dict[str, Any]:
    units = records_as_of(
        BusinessUnit.objects.filter(pk=v["business_unit_id"]),
        as_of=ctx.moment,
        fields=("code", "name"),
        restore_deleted=False,
        existing_only=False,
    )
    unit = units[0].values if units else {"code": "", "name": ""}
    point = v["eu_annex_iii_point"] or ""
    return {
        "slug": v["slug"],
        "name": v["name"],
        "description": _text(v["description"]),
        "purpose": _text(v["purpose"]),
        "out_of_scope_uses": _text(v["out_of_scope_uses"]),
        "intended_users": _text(v["intended_users"]),
        "business_unit": {"code": unit["code"], "name": unit["name"]},
        "origin": v["origin"],
        "origin_label": _label(Origin, v["origin"]),
        "vendor": _text(v["vendor"]),
        "model_type": v["model_type"],
        "model_type_label": _label(ModelType, v["model_type"]),
        "algorithm": _text(v["algorithm"]),
        "inputs": _text(v["inputs"]),
        "outputs": _text(v["outputs"]),
        "downstream_consumers": _text(v["downstream_consumers"]),
        "limitations": _text(v["limitations"]),
        "assumptions": _text(v["assumptions"]),
        "ethical_considerations": _text(v["ethical_considerations"]),
        "explainability": _text(v["explainability"]),
        "human_oversight_contact": _text(v["human_oversight_contact"]),
        "status": v["status"],
        "status_label": _label(LifecycleStatus, v["status"]),
        "lifecycle": {
            "created_at": _iso(v["created_at"]),
            "status_changed_at": _iso(v["status_changed_at"]),
            "validation_started_at": _iso(v["validation_started_at"]),
            "approved_at": _iso(v["approved_at"]),
            "deployed_at": _iso(v["deployed_at"]),
            "retired_at": _iso(v["retired_at"]),
            "retirement_reason": _text(v["retirement_reason"]),
        },
        "next_review_date": _iso(v["next_review_date"]),
        "risk": {
            "tier": v["risk_tier"],
            "tier_label": _label(RiskTier, v["risk_tier"]),
            "rationale": _text(v["risk_tier_rationale"]),
            "assessed_by": ctx.people(v["risk_assessed_by_id"]),
            "assessed_at": _iso(v["risk_assessed_at"]),
        },
        "eu_ai_act": {
            "class": v["eu_ai_act_class"],
            "class_label": _label(EUAIActClass, v["eu_ai_act_class"]),
            "annex_iii_point": point,
            "annex_iii_label": _label(AnnexIIIPoint, point),
        },
    }


# --- versions, data, deployments, lineage -------------------------------------------------


@dataclass(frozen=True)
class _Version:
    """A version that existed at T: its primary key and its snapshot entry."""

    pk: Any
    entry: dict[str, Any]


def _versions(ctx: _Context) -> list[_Version]:
    """The versions that existed at T, newest first."""
    links: dict[Any, list[str]] = defaultdict(list)
    rows = VersionDataset.objects.filter(version__model=ctx.model).values_list(
        "version_id", "role", "dataset__slug"
    )
    for version_id, role, slug in rows:
        links[version_id].append(f"{role}:{slug}")
    records = ctx.records(
        ModelVersion.objects.filter(model=ctx.model),
        VERSION_FIELDS,
        virtual={"datasets": {pk: sorted(items) for pk, items in links.items()}},
    )
    records.sort(key=lambda r: (r.values["created_at"] or r.born or ctx.moment, r.pk), reverse=True)
    slugs = {item.split(":", 1)[1] for r in records for item in r.values["datasets"] or []}
    datasets = _datasets_at(ctx, slugs)
    roles = list(DatasetRole.values)
    versions = []
    for record in records:
        v = record.values
        used = []
        for item in v["datasets"] or []:
            role, slug = item.split(":", 1)
            used.append((roles.index(role) if role in roles else len(roles), slug, role))
        entries = []
        for _, slug, role in sorted(used):
            data = datasets.get(slug) or {"slug": slug}
            entries.append(
                {
                    "slug": slug,
                    "name": _text(data.get("name")),
                    "uri": _text(data.get("uri")),
                    "version": _text(data.get("version")),
                    "content_hash": _text(data.get("content_hash")),
                    "role": role,
                    "role_label": _label(DatasetRole, role),
                    "owner": ctx.people(data.get("owner_id")),
                    "contains_personal_data": bool(data.get("contains_personal_data")),
                }
            )
        versions.append(
            _Version(
                pk=record.pk,
                entry={
                    "version": v["version"],
                    "description": _text(v["description"]),
                    "stage": v["stage"],
                    "stage_label": _label(VersionStage, v["stage"]),
                    "artifact_uri": _text(v["artifact_uri"]),
                    "artifact_sha256": _text(v["artifact_sha256"]),
                    "code_commit": _text(v["code_commit"]),
                    "hyperparameters": v["hyperparameters"] or {},
                    "evaluation_metrics": v["evaluation_metrics"] or {},
                    "created_at": _iso(v["created_at"]),
                    "created_by": ctx.people(v["created_by_id"]),
                    "approved_at": _iso(v["approved_at"]),
                    "approved_by": ctx.people(v["approved_by_id"]),
                    "datasets": entries,
                },
            )
        )
    return versions


def _datasets_at(ctx: _Context, slugs: set[str]) -> dict[str, dict[str, Any]]:
    if not slugs:
        return {}
    records = records_as_of(
        Dataset.objects.filter(slug__in=sorted(slugs)),
        as_of=ctx.moment,
        fields=DATASET_FIELDS,
        restore_deleted=False,
        existing_only=False,
    )
    return {r.values["slug"]: r.values for r in records}


def _deployments(ctx: _Context, versions: list[_Version]) -> list[dict[str, Any]]:
    names = {v.pk: v.entry["version"] for v in versions}
    records = ctx.records(Deployment.objects.filter(version__model=ctx.model), DEPLOYMENT_FIELDS)
    records.sort(key=lambda r: (r.values["deployed_at"] or ctx.moment, r.pk), reverse=True)
    return [
        {
            "version": names.get(r.values["version_id"], ""),
            "environment": r.values["environment"],
            "environment_label": _label(DeploymentEnvironment, r.values["environment"]),
            "endpoint": _text(r.values["endpoint"]),
            "consumers": _text(r.values["consumers"]),
            "status": r.values["status"],
            "status_label": _label(DeploymentStatus, r.values["status"]),
            "deployed_at": _iso(r.values["deployed_at"]),
        }
        for r in records
    ]


def _dependencies(ctx: _Context) -> dict[str, list[dict[str, Any]]]:
    model_pk = ctx.model.pk
    records = ctx.records(
        ModelDependency.objects.filter(Q(upstream_id=model_pk) | Q(downstream_id=model_pk)),
        DEPENDENCY_FIELDS,
    )
    others = {
        r.values["upstream_id"]
        if r.values["downstream_id"] == model_pk
        else r.values["downstream_id"]
        for r in records
    } - {None}
    names: dict[Any, dict] = {}
    if others:
        for other in records_as_of(
            RegisteredModel.objects.filter(pk__in=sorted(others)),
            as_of=ctx.moment,
            fields=("slug", "name"),
            restore_deleted=False,
            existing_only=False,
        ):
            names[other.pk] = other.values
    result: dict[str, list[dict[str, Any]]] = {"upstream": [], "downstream": []}
    for r in records:
        v = r.values
        side, other = (
            ("upstream", v["upstream_id"])
            if v["downstream_id"] == model_pk
            else ("downstream", v["downstream_id"])
        )
        if other not in names:
            continue
        result[side].append(
            {
                "slug": names[other]["slug"],
                "name": names[other]["name"],
                "kind": v["kind"] or DependencyKind.FEEDS,
                "description": _text(v["description"]),
            }
        )
    for entries in result.values():
        entries.sort(key=lambda e: e["slug"])
    return result


# --- metrics ------------------------------------------------------------------------------


class _DaysBefore(Func):
    """floor((T - timestamp) / 1 day): the day bucket, aligned to T, of a time at or before T."""

    output_field = models.IntegerField()

    def __init__(self, expression, moment: dt.datetime):
        super().__init__(Value(moment.timestamp()), expression)

    def as_sql(self, compiler, connection, **extra):
        raise NotSupportedError(f"Metric buckets are not implemented on {connection.vendor}.")

    def as_postgresql(self, compiler, connection, **extra):
        return self._render(
            compiler, connection, "FLOOR((%s - date_part('epoch', %s)) / 86400.0)::bigint"
        )

    def as_sqlite(self, compiler, connection, **extra):
        # julianday() parses the stored ISO text; 2440587.5 is the Julian day of the epoch.
        # The difference is never negative, so CAST's truncation is the floor.
        return self._render(
            compiler,
            connection,
            "CAST((%s - (julianday(%s) - 2440587.5) * 86400.0) / 86400.0 AS INTEGER)",
        )

    def _render(self, compiler, connection, template: str):
        parts, params = [], []
        for expression in self.get_source_expressions():
            sql, p = compiler.compile(expression)
            parts.append(sql)
            params.extend(p)
        return template % tuple(parts), params


def _metrics(
    ctx: _Context, versions: list[_Version], production: _Version | None, requests: dict
) -> list[dict[str, Any]]:
    """One entry per threshold active at T, with the newest value at or before T, the value
    its rule evaluates over the window ending at T, the state, and a daily chart series."""
    records = ctx.records(
        Threshold.objects.filter(
            model=ctx.model, activated_at__isnull=False, activated_at__lte=ctx.moment
        ),
        THRESHOLD_FIELDS,
        restore_deleted=False,
    )
    active = [r for r in records if r.values["status"] == ThresholdStatus.ACTIVE]
    if not active:
        return []
    names = {v.pk: v.entry["version"] for v in versions}
    # A threshold without a version watches the production version at T (else the newest).
    fallback = production.pk if production else (versions[0].pk if versions else None)
    targets = {r.pk: r.values["version_id"] or fallback for r in active}
    definitions = {
        m.pk: m
        for m in MetricDefinition.objects.filter(
            pk__in=sorted({r.values["metric_id"] for r in active})
        )
    }
    latest = _latest_values(targets, ctx.moment)
    days = max(SERIES_DAYS, *(r.values["window_days"] or 0 for r in active))
    series_keys = {
        (targets[r.pk], r.values["metric_id"], r.values["segment"] or "")
        for r in active
        if targets[r.pk] is not None
    }
    buckets = _day_buckets(series_keys, ctx.moment, days)
    entries = []
    for r in active:
        v = r.values
        target = targets[r.pk]
        metric = definitions.get(v["metric_id"])
        key = (target, v["metric_id"], v["segment"] or "")
        by_day = buckets.get(key, {})
        value, observed_at = latest.get(r.pk, (None, None))
        evaluated, state = _evaluate(v, value=_number(value), by_day=by_day)
        entries.append(
            {
                "metric": metric.name if metric else "",
                "description": _text(metric.description) if metric else "",
                "unit": _text(metric.unit) if metric else "",
                "direction": metric.direction if metric else "",
                "segment": v["segment"] or "",
                "version": names.get(v["version_id"]) if v["version_id"] else None,
                "threshold": {
                    "id": r.pk,
                    "direction": v["direction"],
                    "warning_bound": _number(v["warning_bound"]),
                    "critical_bound": _number(v["critical_bound"]),
                    "evaluation": v["evaluation"],
                    "evaluation_label": _label(Evaluation, v["evaluation"]),
                    "window_days": v["window_days"],
                    "min_samples": v["min_samples"],
                    "rationale": _text(v["rationale"]),
                    "review_by": _iso(v["review_by"]),
                    "activated_at": _iso(v["activated_at"]),
                    "signoff": _signoff(ctx, requests.get(v["signoff_request_id"])),
                },
                "latest": (
                    {
                        "value": _number(value),
                        "observed_at": _iso(observed_at),
                        "version": names.get(target, ""),
                    }
                    if observed_at is not None and _number(value) is not None
                    else None
                ),
                "evaluated_value": evaluated,
                "state": state,
                "series": [
                    [_iso(last), _number(total / n)]
                    for day, (n, total, _low, _high, last) in sorted(by_day.items(), reverse=True)
                    if day < SERIES_DAYS and n
                ],
            }
        )
    entries.sort(
        key=lambda e: (e["metric"], e["segment"], e["version"] or "", e["threshold"]["id"])
    )
    return entries


def _latest_values(targets: dict[Any, Any], moment: dt.datetime) -> dict[Any, tuple]:
    """Per threshold, the newest observation at or before T of its series: one query, an
    index lookup per threshold (the observation index leads with version, metric, time)."""
    cases = [When(pk=pk, then=Value(vid)) for pk, vid in targets.items() if vid is not None]
    if not cases:
        return {}
    newest = Observation.objects.filter(
        version_id=OuterRef("target_version"),
        metric_id=OuterRef("metric_id"),
        segment=OuterRef("segment"),
        timestamp__lte=moment,
    ).order_by("-timestamp")
    rows = (
        Threshold.objects.filter(pk__in=sorted(targets))
        .annotate(
            target_version=Case(*cases, default=Value(None), output_field=models.BigIntegerField())
        )
        .annotate(
            latest_value=Subquery(newest.values("value")[:1]),
            latest_at=Subquery(newest.values("timestamp")[:1]),
        )
        .values_list("pk", "latest_value", "latest_at")
    )
    return {pk: (value, at) for pk, value, at in rows if at is not None}


def _day_buckets(keys: set[tuple], moment: dt.datetime, days: int) -> dict[tuple, dict[int, tuple]]:
    """Per series (version, metric, segment) and day k before T (k = floor((T - t) / 1 day)):
    count, sum, lowest, highest value and last time, over the ``days`` days up to T. One
    aggregated query; a window of k days is the exact sum of days 0..k-1."""
    if not keys:
        return {}
    wanted = Q()
    for version_id, metric_id, segment in sorted(keys):
        wanted |= Q(version_id=version_id, metric_id=metric_id, segment=segment)
    rows = (
        Observation.objects.filter(
            wanted,
            timestamp__gt=moment - dt.timedelta(days=days),
            timestamp__lte=moment,
        )
        .annotate(day=_DaysBefore("timestamp", moment))
        .values("version_id", "metric_id", "segment", "day")
        .annotate(
            n=Count("*"),
            total=Sum("value"),
            low=Min("value"),
            high=Max("value"),
            last=Max("timestamp"),
        )
        .order_by()
    )
    result: dict[tuple, dict[int, tuple]] = defaultdict(dict)
    for row in rows:
        day = int(row["day"])
        if 0 <= day < days:
            key = (row["version_id"], row["metric_id"], row["segment"])
            result[key][day] = (row["n"], row["total"], row["low"], row["high"], row["last"])
    return result


def _evaluate(
    threshold: dict[str, Any], *, value: float | None, by_day: dict[int, tuple]
) -> tuple[float | None, str]:
    """The evaluated value and state, as ``apps.monitoring.evaluation`` decides them, over
    the window ending at T."""
    evaluation = threshold["evaluation"]
    if evaluation in bounds.WINDOWED:
        window = [b for day, b in by_day.items() if day < (threshold["window_days"] or 0)]
        count = sum(b[0] for b in window)
        total = sum(b[1] for b in window)
        evaluated = outcome.evaluated_value(
            evaluation,
            mean=total / count if count else None,
            minimum=min((b[2] for b in window), default=None),
            maximum=max((b[3] for b in window), default=None),
            latest=value,
        )
    else:
        count = 1 if value is not None else 0
        evaluated = value
    evaluated = _number(evaluated)
    state = outcome.state_of(
        evaluated,
        count=count,
        min_samples=outcome.required_samples(evaluation, threshold["min_samples"] or 1),
        direction=threshold["direction"],
        warning=threshold["warning_bound"],
        critical=threshold["critical_bound"],
    )
    return evaluated, "insufficient_data" if state == outcome.INSUFFICIENT else state


def _signoff(ctx: _Context, request: dict | None) -> dict | None:
    if request is None:
        return None
    approved = request["status"] == RequestStatus.APPROVED
    return {
        "request_id": request["id"],
        "content_sha256": request["content_sha256"],
        "approved_at": request["closed_at"] if approved else None,
        "approvers": [
            d["approver"] for d in request["decisions"] if d["verdict"] == Verdict.APPROVE
        ],
    }


def _drift(ctx: _Context) -> dict[str, Any] | None:
    finished = Q(finished_at__lte=ctx.moment) | Q(
        finished_at__isnull=True, created_at__lte=ctx.moment
    )
    run = (
        DriftRun.objects.filter(finished, version__model=ctx.model, status=DriftRunStatus.SUCCEEDED)
        .select_related("version")
        .prefetch_related(
            Prefetch("columns", queryset=DriftColumn.objects.order_by("-drifted", "column"))
        )
        .order_by("-observed_at", "-pk")
        .first()
    )
    if run is None:
        return None
    return {
        "observed_at": _iso(run.observed_at),
        "version": run.version.version,
        "columns_total": run.columns_total,
        "columns_drifted": run.columns_drifted,
        "drift_share": _number(run.drift_share),
        "dataset_drift": run.dataset_drift,
        "columns": [
            {
                "column": c.column,
                "kind": c.kind,
                "method": c.method,
                "score": _number(c.score),
                "threshold": _number(c.threshold),
                "drifted": c.drifted,
                "psi": _number(c.psi),
            }
            for c in run.columns.all()
        ],
    }


# --- approvals, incidents, reviews, findings, risk ----------------------------------------


def _approvals(ctx: _Context) -> tuple[list[dict[str, Any]], dict[Any, dict]]:
    """Requests made at or before T with their status then and the decisions signed by
    then, newest first; also by id (for the thresholds' sign-offs)."""
    records = ctx.records(
        ApprovalRequest.objects.filter(model=ctx.model, requested_at__lte=ctx.moment),
        REQUEST_FIELDS,
        restore_deleted=False,
    )
    records.sort(key=lambda r: (r.values["requested_at"] or ctx.moment, r.pk), reverse=True)
    decisions: dict[Any, list[dict]] = defaultdict(list)
    rows = (
        Decision.objects.filter(request__model=ctx.model, signed_at__lte=ctx.moment)
        .order_by("signed_at", "pk")
        .values(
            "request_id",
            "approver_id",
            "slot",
            "verdict",
            "comment",
            "meaning",
            "content_sha256",
            "signed_at",
        )
    )
    for d in rows:
        decisions[d["request_id"]].append(
            {
                "approver": ctx.people(d["approver_id"]),
                "slot": d["slot"],
                "slot_label": _label(ApproverRole, d["slot"]),
                "verdict": d["verdict"],
                "verdict_label": _label(Verdict, d["verdict"]),
                "comment": _text(d["comment"]),
                "meaning": _text(d["meaning"]),
                "content_sha256": d["content_sha256"],
                "signed_at": _iso(d["signed_at"]),
            }
        )
    approvals = []
    for r in records:
        v = r.values
        approvals.append(
            {
                "id": r.pk,
                "kind": v["kind"],
                "kind_label": _label(ApprovalKind, v["kind"]),
                "title": _text(v["title"]),
                "status": v["status"],
                "status_label": _label(RequestStatus, v["status"]),
                "requested_by": ctx.people(v["requested_by_id"]),
                "requested_at": _iso(v["requested_at"]),
                "closed_at": _iso(v["closed_at"]),
                "content_sha256": v["content_sha256"],
                "decisions": decisions.get(r.pk, []),
            }
        )
    return approvals, {a["id"]: a for a in approvals}


def _incidents(ctx: _Context) -> list[dict[str, Any]]:
    m2m = Incident._meta.get_field("affected_versions")
    source, target = m2m.m2m_field_name(), m2m.m2m_reverse_field_name()
    current: dict[Any, list[str]] = defaultdict(list)
    rows = m2m.remote_field.through.objects.filter(**{f"{source}__model": ctx.model})
    for incident_id, version in rows.values_list(f"{source}_id", f"{target}__version"):
        current[incident_id].append(version)
    records = ctx.records(
        Incident.objects.filter(model=ctx.model),
        INCIDENT_FIELDS,
        virtual={"affected_versions": {pk: sorted(v) for pk, v in current.items()}},
    )
    records.sort(key=lambda r: (r.values["detected_at"] or ctx.moment, r.pk), reverse=True)
    result = []
    for r in records:
        v = r.values
        result.append(
            {
                "reference": v["reference"],
                "title": _text(v["title"]),
                "severity": v["severity"],
                "status": v["status"],
                "status_label": _label(IncidentStatus, v["status"]),
                "description": _text(v["description"]),
                "impact": _text(v["impact"]),
                "root_cause": _text(v["root_cause"]),
                "corrective_actions": _text(v["corrective_actions"]),
                "detected_at": _iso(v["detected_at"]),
                "awareness_at": _iso(v["awareness_at"]),
                "serious_category": v["serious_category"] or "",
                "serious_category_label": str(
                    dict(SeriousCategory.choices).get(v["serious_category"] or "", "")
                ),
                "reporting_deadline": _iso(v["reporting_deadline"]),
                "reported_at": _iso(v["reported_at"]),
                "resolved_at": _iso(v["resolved_at"]),
                "closed_at": _iso(v["closed_at"]),
                "affected_versions": _affected_versions(r, ctx.moment),
            }
        )
    return result


def _affected_versions(record: Record, moment: dt.datetime) -> list[str]:
    """The incident's affected versions at T. Opening an incident and a breach joining it
    record the whole list; an emergency rollback adds the version it rolls back from and
    records only ``rollback: {before: that version, after: the target}``."""
    event, recorded = record.recorded("affected_versions", moment)
    if event is None:
        return sorted(record.values["affected_versions"] or [])
    versions = set(recorded or [])
    for later in record.events:
        if event.sequence < later.sequence and later.occurred_at <= moment:
            rollback = later.changes.get("rollback")
            if isinstance(rollback, dict) and rollback.get("before"):
                versions.add(rollback["before"])
    return sorted(versions)


def _reviews(ctx: _Context) -> list[dict[str, Any]]:
    records = ctx.records(Review.objects.filter(model=ctx.model), REVIEW_FIELDS)
    records.sort(key=lambda r: (r.born or ctx.moment, r.pk), reverse=True)
    result = []
    for r in records:
        v = r.values
        reviewed_on = v["reviewed_on"]
        # Submitting stamps ``reviewed_on`` (when empty) without recording it: before the
        # first submission the recorded value is the one that stood.
        submitted = any(
            e.occurred_at <= ctx.moment
            and (e.changes.get("status") or {}).get("after") == ReviewStatus.SUBMITTED
            for e in r.events
        )
        if not submitted:
            event, recorded = r.recorded("reviewed_on", ctx.moment)
            if event is not None:
                reviewed_on = Review._meta.get_field("reviewed_on").to_python(recorded)
        result.append(
            {
                "id": r.pk,
                "reviewer": ctx.people(v["reviewer_id"]),
                "scope": _text(v["scope"]),
                "status": v["status"],
                "status_label": _label(ReviewStatus, v["status"]),
                "outcome": v["outcome"] or "",
                "outcome_label": _label(ReviewOutcome, v["outcome"]),
                "due_date": _iso(v["due_date"]),
                "reviewed_on": _iso(reviewed_on),
                "attested_at": _iso(v["attested_at"]),
            }
        )
    return result


def _findings(ctx: _Context) -> list[dict[str, Any]]:
    records = ctx.records(Finding.objects.filter(model=ctx.model), FINDING_FIELDS)
    records.sort(key=lambda r: (r.values["due_date"] or dt.date.max, r.pk))
    return [
        {
            "id": r.pk,
            "title": _text(r.values["title"]),
            "severity": r.values["severity"],
            "severity_label": _label(FindingSeverity, r.values["severity"]),
            "status": r.values["status"],
            "status_label": _label(FindingStatus, r.values["status"]),
            "owner": ctx.people(r.values["owner_id"]),
            "due_date": _iso(r.values["due_date"]),
            "description": _text(r.values["description"]),
        }
        for r in records
    ]


def _risk_assessments(ctx: _Context) -> list[dict[str, Any]]:
    records = ctx.records(RiskAssessment.objects.filter(model=ctx.model), ASSESSMENT_FIELDS)
    records.sort(key=lambda r: (r.values["assessed_at"] or ctx.moment, r.pk), reverse=True)
    result = []
    for r in records:
        v = r.values
        tier, decided_at, reason = _proposal_at(r, ctx.moment)
        result.append(
            {
                "assessed_at": _iso(v["assessed_at"]),
                "assessed_by": ctx.people(v["assessed_by_id"]),
                "eu_ai_act_class": v["eu_ai_act_class"],
                "suggested_tier": v["suggested_tier"],
                "points": v["points"],
                "status": v["status"],
                "decided_tier": tier,
                "decided_at": _iso(decided_at),
                "decision_reason": reason,
            }
        )
    return result


def _proposal_at(record: Record, moment: dt.datetime) -> tuple[int | None, Any, str]:
    """The validator's tier proposal standing at T: (tier, when, reason).

    The proposal's audit event records the tier (its message the reason, its time the
    moment); sending a proposal back clears the proposal without recording what it held.
    """
    v = record.values
    if v["status"] in (RiskAssessmentStatus.PENDING, None):
        return None, None, ""
    event, tier = record.recorded("decided_tier", moment)
    if event is None:  # no proposal recorded (rows made without the services)
        return v["decided_tier"], v["decided_at"], _text(v["decision_reason"])
    marker = " proposed: "
    reason = event.message.split(marker, 1)[1] if marker in event.message else ""
    return tier, event.occurred_at, reason


def _changes(ctx: _Context) -> list[dict[str, Any]]:
    shown = [e for e in reversed(ctx.events) if e.occurred_at <= ctx.moment][:MAX_CHANGES]
    return [
        {
            "sequence": e.sequence,
            "occurred_at": _iso(e.occurred_at),
            "actor": e.actor_username,
            "action": e.action,
            "object_type": e.object_type,
            "object_repr": e.object_repr,
            "fields": sorted(e.changes) if isinstance(e.changes, dict) else [],
            "message": e.message,
        }
        for e in shown
    ]
