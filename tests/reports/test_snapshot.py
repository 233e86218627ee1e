"""The model snapshot every card is built from (apps.reports.snapshot)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.accounts.services import user_set_roles
from apps.audit.models import AuditEvent
from apps.core import roles
from apps.core.errors import ApplicationError
from apps.incidents import services as incidents
from apps.inventory import services as inventory
from apps.monitoring import services as monitoring
from apps.reports import snapshot as snapshots
from apps.reports.snapshot import canonical_bytes, model_snapshot, snapshot_sha256
from apps.reports.snapshot import changes as snapshot_changes
from apps.reports.snapshot.values import iso
from apps.reviews import services as reviews
from tests.approvals.helpers import PASSWORD, promote, sign
from tests.factories import ModelVersionFactory
from tests.monitoring.drift.factories import make_run
from tests.monitoring.observations import batch_for, observe
from tests.reports.conftest import activate, build_world
from tests.reports.sample import sample_snapshot

pytestmark = pytest.mark.django_db

PERSON = {"username": str, "name": str, "role_labels": [str]}
DATASET = {
    "slug": str,
    "name": str,
    "uri": str,
    "version": str,
    "content_hash": str,
    "role": str,
    "role_label": str,
    "owner": PERSON,
    "contains_personal_data": bool,
}
VERSION = {
    "version": str,
    "description": str,
    "stage": str,
    "stage_label": str,
    "artifact_uri": str,
    "artifact_sha256": str,
    "code_commit": str,
    "hyperparameters": dict,
    "evaluation_metrics": dict,
    "created_at": str,
    "created_by": PERSON,
    "approved_at": str,
    "approved_by": PERSON,
    "datasets": [DATASET],
}
LINK = {"slug": str, "name": str, "kind": str, "description": str}
#: The snapshot contract of apps/reports: every key, and the type of every value present.
CONTRACT = {
    "schema": str,
    "as_of": str,
    "as_of_requested": bool,
    "audit_chain_head": {"sequence": int, "hash": str},
    "model": {
        **dict.fromkeys(
            (
                "slug",
                "name",
                "description",
                "purpose",
                "out_of_scope_uses",
                "intended_users",
                "origin",
                "origin_label",
                "vendor",
                "model_type",
                "model_type_label",
                "algorithm",
                "inputs",
                "outputs",
                "downstream_consumers",
                "limitations",
                "assumptions",
                "ethical_considerations",
                "explainability",
                "human_oversight_contact",
                "status",
                "status_label",
                "next_review_date",
            ),
            str,
        ),
        "business_unit": {"code": str, "name": str},
        "lifecycle": dict.fromkeys(
            (
                "created_at",
                "status_changed_at",
                "validation_started_at",
                "approved_at",
                "deployed_at",
                "retired_at",
                "retirement_reason",
            ),
            str,
        ),
        "risk": {
            "tier": int,
            "tier_label": str,
            "rationale": str,
            "assessed_by": PERSON,
            "assessed_at": str,
        },
        "eu_ai_act": dict.fromkeys(
            ("class", "class_label", "annex_iii_point", "annex_iii_label"), str
        ),
    },
    "people": {
        "owner": PERSON,
        "business_owner": PERSON,
        "validator": PERSON,
        "developers": [PERSON],
    },
    "production_version": VERSION,
    "versions": [VERSION],
    "deployments": [
        dict.fromkeys(
            (
                "version",
                "environment",
                "environment_label",
                "endpoint",
                "consumers",
                "status",
                "status_label",
                "deployed_at",
            ),
            str,
        )
    ],
    "dependencies": {"upstream": [LINK], "downstream": [LINK]},
    "metrics": [
        {
            "metric": str,
            "description": str,
            "unit": str,
            "direction": str,
            "segment": str,
            "version": str,
            "threshold": {
                "id": int,
                "direction": str,
                "warning_bound": float,
                "critical_bound": float,
                "evaluation": str,
                "evaluation_label": str,
                "window_days": int,
                "min_samples": int,
                "rationale": str,
                "review_by": str,
                "activated_at": str,
                "signoff": {
                    "request_id": int,
                    "content_sha256": str,
                    "approved_at": str,
                    "approvers": [PERSON],
                },
            },
            "latest": {"value": float, "observed_at": str, "version": str},
            "evaluated_value": float,
            "state": str,
            "series": [(str, float)],
        }
    ],
    "observed_metrics": [
        {
            "metric": str,
            "description": str,
            "unit": str,
            "direction": str,
            "versions": [{"version": str, "series": [(str, float)]}],
        }
    ],
    "drift": {
        "observed_at": str,
        "version": str,
        "columns_total": int,
        "columns_drifted": int,
        "drift_share": float,
        "dataset_drift": bool,
        "columns": [
            {
                "column": str,
                "kind": str,
                "method": str,
                "score": float,
                "threshold": float,
                "drifted": bool,
                "psi": float,
            }
        ],
    },
    "approvals": [
        {
            "id": int,
            "kind": str,
            "kind_label": str,
            "title": str,
            "status": str,
            "status_label": str,
            "requested_by": PERSON,
            "requested_at": str,
            "closed_at": str,
            "content_sha256": str,
            "decisions": [
                {
                    "approver": PERSON,
                    **dict.fromkeys(
                        (
                            "slot",
                            "slot_label",
                            "verdict",
                            "verdict_label",
                            "comment",
                            "meaning",
                            "content_sha256",
                            "signed_at",
                        ),
                        str,
                    ),
                    "signature": dict.fromkeys(("method", "issuer", "auth_time", "label"), str),
                }
            ],
        }
    ],
    "incidents": [
        {
            **dict.fromkeys(
                (
                    "reference",
                    "title",
                    "severity",
                    "status",
                    "status_label",
                    "description",
                    "impact",
                    "root_cause",
                    "corrective_actions",
                    "detected_at",
                    "awareness_at",
                    "serious_category",
                    "serious_category_label",
                    "reporting_deadline",
                    "reported_at",
                    "resolved_at",
                    "closed_at",
                ),
                str,
            ),
            "affected_versions": [str],
        }
    ],
    "reviews": [
        {
            "id": int,
            "reviewer": PERSON,
            **dict.fromkeys(
                (
                    "scope",
                    "status",
                    "status_label",
                    "outcome",
                    "outcome_label",
                    "due_date",
                    "reviewed_on",
                    "attested_at",
                ),
                str,
            ),
        }
    ],
    "findings": [
        {
            "id": int,
            "owner": PERSON,
            **dict.fromkeys(
                (
                    "title",
                    "severity",
                    "severity_label",
                    "status",
                    "status_label",
                    "due_date",
                    "description",
                ),
                str,
            ),
        }
    ],
    "risk_assessments": [
        {
            "assessed_at": str,
            "assessed_by": PERSON,
            "eu_ai_act_class": str,
            "suggested_tier": int,
            "points": int,
            "status": str,
            "decided_tier": int,
            "decided_at": str,
            "decision_reason": str,
        }
    ],
    "changes": [
        {
            "sequence": int,
            "occurred_at": str,
            "actor": str,
            "action": str,
            "object_type": str,
            "object_repr": str,
            "fields": [str],
            "message": str,
        }
    ],
    "automated_activity": [
        {
            "object_type": str,
            "label": str,
            "events": int,
            "objects": int,
            "actions": dict,
            "first_at": str,
            "last_at": str,
        }
    ],
}
UTC_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
DATE = re.compile(r"^\d{4}-\d\d-\d\d$")
#: Keys that say when and how a snapshot was asked for, not what the record held.
VOLATILE = ("as_of_requested",)


def conforms(shape, value, path="snapshot") -> list[str]:
    """Where ``value`` departs from ``shape``: missing or extra keys, wrong types. None (the
    contract's missing value) is allowed except for lists; ``dict`` means any object."""
    if value is None:
        return [f"{path}: null, expected a list"] if isinstance(shape, list) else []
    if isinstance(shape, dict):
        if not isinstance(value, dict):
            return [f"{path}: {type(value).__name__}, expected an object"]
        problems = (
            [f"{path}: keys {sorted(set(shape) ^ set(value))}"] if set(shape) != set(value) else []
        )
        for key in set(shape) & set(value):
            problems += conforms(shape[key], value[key], f"{path}.{key}")
        return problems
    if isinstance(shape, list):
        if not isinstance(value, list):
            return [f"{path}: {type(value).__name__}, expected a list"]
        return [p for i, item in enumerate(value) for p in conforms(shape[0], item, f"{path}[{i}]")]
    if isinstance(shape, tuple):  # a chart point
        if not (isinstance(value, list) and len(value) == len(shape)):
            return [f"{path}: expected a pair"]
        return [p for i, s in enumerate(shape) for p in conforms(s, value[i], f"{path}[{i}]")]
    if shape is float and isinstance(value, int) and not isinstance(value, bool):
        return []
    if not isinstance(value, shape) or (shape is int and isinstance(value, bool)):
        return [f"{path}: {value!r} is not {shape.__name__}"]
    return []


def without(snapshot: dict, *keys: str) -> dict:
    return {k: v for k, v in snapshot.items() if k not in (*VOLATILE, *keys)}


# --- shape -----------------------------------------------------------------------------------


def test_it_has_every_key_of_the_contract_with_json_values(world):
    snapshot = model_snapshot(model=world.model)

    assert conforms(CONTRACT, snapshot) == []
    assert json.loads(canonical_bytes(snapshot)) == snapshot
    for section in ("production_version", "drift"):
        assert snapshot[section] is not None
    assert all(m["latest"] and m["threshold"]["signoff"] for m in snapshot["metrics"])


def test_the_shared_sample_snapshot_follows_the_same_contract():
    """The hand-written sample the formats are tested with has the keys a snapshot has."""
    assert conforms(CONTRACT, sample_snapshot()) == []


def test_every_time_is_utc_to_the_second_and_every_date_a_day(world):
    snapshot = model_snapshot(model=world.model)
    times = [
        snapshot["model"]["lifecycle"]["created_at"],
        snapshot["versions"][0]["created_at"],
        snapshot["approvals"][0]["requested_at"],
        snapshot["metrics"][0]["series"][0][0],
        snapshot["changes"][0]["occurred_at"],
    ]

    assert all(UTC_TIME.match(t) for t in times), times
    # T itself keeps its fraction of a second, so that it can be asked for again.
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?Z$", snapshot["as_of"])
    assert DATE.match(snapshot["metrics"][0]["threshold"]["review_by"])
    assert DATE.match(snapshot["findings"][0]["due_date"])


def test_missing_values_are_null_empty_lists_or_empty_text(world, cast, clock):
    bare = inventory.registered_model_create(
        actor=cast.owner,
        slug="bare-model",
        name="Bare model",
        purpose="Nothing else yet.",
        business_unit=world.model.business_unit,
        business_owner=cast.business_owner,
    )

    snapshot = model_snapshot(model=bare)

    assert conforms(CONTRACT, snapshot) == []
    assert (snapshot["production_version"], snapshot["drift"]) == (None, None)
    for key in ("versions", "deployments", "metrics", "approvals", "incidents", "reviews"):
        assert snapshot[key] == []
    assert snapshot["people"]["validator"] is None
    assert snapshot["model"]["risk"] == {
        "tier": None,
        "tier_label": "",
        "rationale": "",
        "assessed_by": None,
        "assessed_at": None,
    }
    assert snapshot["model"]["vendor"] == ""
    assert [c["action"] for c in snapshot["changes"]] == ["create"]


# --- canonical form --------------------------------------------------------------------------


def test_canonical_bytes_are_sorted_compact_utf8_json():
    snapshot = {"b": [1, {"é": None}], "a": "<x>"}

    assert canonical_bytes(snapshot) == '{"a":"<x>","b":[1,{"é":null}]}'.encode()
    assert snapshot_sha256(snapshot) == hashlib.sha256(canonical_bytes(snapshot)).hexdigest()


def test_the_same_record_gives_the_same_bytes_and_a_change_another_hash(world, clock):
    first = model_snapshot(model=world.model)
    again = model_snapshot(model=world.model, as_of=dt.datetime.fromisoformat(first["as_of"]))

    assert canonical_bytes(without(first)) == canonical_bytes(without(again))
    changed = json.loads(canonical_bytes(first))
    changed["model"]["purpose"] += "."
    assert snapshot_sha256(changed) != snapshot_sha256(first)


# --- as of a past time -----------------------------------------------------------------------


def test_as_of_a_past_time_it_shows_the_record_as_history_says(world, clock, cast):
    clock.advance(hours=1)
    before = model_snapshot(model=world.model)
    t1 = dt.datetime.fromisoformat(before["as_of"])

    clock.advance(days=1)
    # A pending approval is decided, and the version it validated goes to production.
    sign(world.v2_validation, cast.validator)
    promote(world.v2, cast.owner, [cast.business_owner, cast.validator])
    inventory.deployment_create(actor=cast.owner, version=world.v2, environment="production")
    # The purpose is edited, the unit renamed, a dataset corrected, a developer given a role.
    inventory.registered_model_update(
        actor=cast.owner, model=world.model, purpose="Approve small loans automatically."
    )
    inventory.business_unit_update(
        actor=cast.admin, unit=world.model.business_unit, code="credit-scoring-unit", name="Loans"
    )
    inventory.dataset_update(actor=cast.admin, dataset=world.train, name="Loans 2025 (fixed)")
    user_set_roles(
        actor=cast.admin, user=cast.developer, role_names=[roles.MODEL_OWNER, roles.VIEWER]
    )
    # A new threshold is signed and supersedes the old one.
    revision = monitoring.threshold_revise(actor=cast.owner, threshold=world.auc_threshold)
    monitoring.threshold_update(
        actor=cast.owner, threshold=revision, warning_bound=0.8, critical_bound=0.72
    )
    revision = activate(world, revision)
    # The risk tier changes to Tier 1 (a questionnaire, a proposal, a second validator).
    assessment = inventory.risk_assessment_submit(
        actor=cast.owner,
        model=world.model,
        answers={
            "financial_exposure": "high",
            "customer_impact": "high",
            "regulatory_use": "high",
            "automation": "high",
            "complexity": "high",
        },
        eu_ai_act_class="minimal",
    )
    proposal = inventory.risk_assessment_decide(actor=cast.validator, assessment=assessment, tier=1)
    sign(proposal.approval_request, cast.validator2)
    # Incidents: the old one is investigated, a new one opens.
    incidents.incident_update(actor=cast.owner, incident=world.incident, root_cause="Rates.")
    incidents.incident_transition(actor=cast.owner, incident=world.incident, status="investigating")
    incidents.incident_create(
        actor=cast.owner, model=world.model, title="Scores went flat", severity="sev2"
    )
    # The review is completed and submitted, the finding remediated.
    reviews.review_update(
        actor=cast.validator, review=world.review, outcome="satisfactory", notes="Fine."
    )
    reviews.review_submit(actor=cast.validator, review=world.review)
    reviews.finding_update(actor=cast.owner, finding=world.finding, evidence="Segment added.")
    reviews.finding_set_status(actor=cast.owner, finding=world.finding, status="remediated")
    # The feed from the features model is removed.
    inventory.model_dependency_delete(actor=cast.admin, dependency=world.dependency)
    # New data arrives after T1 (and a late observation of a time before T1 is not used).
    batch = batch_for(world.model, cast.owner, name="after")
    now = timezone.now()
    observe(world.v2, world.auc, [0.9], batch=batch, end=now)
    make_run(world.v2, cast.owner, columns=2, observed_at=now, finished_at=now)
    clock.advance(hours=1)

    after = model_snapshot(model=world.model)
    at_t1 = model_snapshot(model=world.model, as_of=t1)

    assert (at_t1["as_of"], at_t1["as_of_requested"]) == (before["as_of"], True)
    assert without(at_t1) == without(before)
    assert canonical_bytes(without(at_t1)) == canonical_bytes(without(before))
    # And now the record shows what changed.
    assert before["model"]["risk"]["tier"] == 2
    assert after["model"]["risk"]["tier"] == 1
    assert after["model"]["purpose"] == "Approve small loans automatically."
    assert before["model"]["purpose"] != after["model"]["purpose"]
    assert (before["model"]["business_unit"]["name"], after["model"]["business_unit"]["name"]) == (
        "Retail Credit",
        "Loans",
    )
    assert before["production_version"]["version"] == "1.0.0"
    assert after["production_version"]["version"] == "2.0.0"
    stages = {v["version"]: v["stage"] for v in after["versions"]}
    assert stages == {"2.0.0": "production", "1.0.0": "archived"}
    assert {v["version"]: v["stage"] for v in before["versions"]} == {
        "2.0.0": "development",
        "1.0.0": "production",
    }
    assert len(after["deployments"]) == 2 and len(before["deployments"]) == 1
    assert before["versions"][1]["datasets"][0]["name"] == "Loans 2025"
    assert after["versions"][1]["datasets"][0]["name"] == "Loans 2025 (fixed)"
    developer_then, developer_now = (s["people"]["developers"][0] for s in (before, after))
    assert developer_then["role_labels"] == ["Model owner / developer"]
    assert developer_now["role_labels"] == ["Model owner / developer", "Viewer"]

    auc_then = next(m for m in before["metrics"] if m["metric"] == "auc")
    auc_now = next(m for m in after["metrics"] if m["metric"] == "auc")
    assert auc_then["threshold"]["id"] == world.auc_threshold.pk
    assert (auc_then["threshold"]["warning_bound"], auc_then["latest"]["value"]) == (0.75, 0.74)
    assert auc_now["threshold"]["id"] == revision.pk
    assert auc_now["threshold"]["warning_bound"] == 0.8
    assert (auc_now["latest"]["value"], auc_now["latest"]["version"]) == (0.9, "2.0.0")
    assert after["drift"]["version"] == "2.0.0" and before["drift"]["version"] == "1.0.0"

    validation = {a["id"]: a for a in before["approvals"]}[world.v2_validation.pk]
    assert (validation["status"], validation["closed_at"], validation["decisions"]) == (
        "pending",
        None,
        [],
    )
    decided = {a["id"]: a for a in after["approvals"]}[world.v2_validation.pk]
    assert decided["status"] == "approved"
    assert [d["approver"]["username"] for d in decided["decisions"]] == ["val.validator"]
    assert len(after["approvals"]) > len(before["approvals"])

    assert [i["status"] for i in before["incidents"]] == ["open"]
    assert before["incidents"][0]["root_cause"] == ""
    assert sorted(i["status"] for i in after["incidents"]) == ["investigating", "open"]
    assert (before["reviews"][0]["status"], before["reviews"][0]["reviewed_on"]) == ("open", None)
    assert after["reviews"][0]["status"] == "submitted"
    assert after["reviews"][0]["reviewed_on"] is not None
    assert (before["findings"][0]["status"], after["findings"][0]["status"]) == (
        "open",
        "remediated",
    )
    assert len(before["risk_assessments"]) == 1 and len(after["risk_assessments"]) == 2

    # The deleted feed comes back as of T1.
    assert [d["slug"] for d in before["dependencies"]["upstream"]] == ["credit-scoring-features"]
    assert at_t1["dependencies"] == before["dependencies"]
    assert after["dependencies"]["upstream"] == []

    assert after["audit_chain_head"]["sequence"] > at_t1["audit_chain_head"]["sequence"]
    assert after["changes"][0]["sequence"] > before["changes"][0]["sequence"]


def test_as_of_a_time_before_the_model_existed_it_refuses(world):
    with pytest.raises(ApplicationError, match="not in the inventory yet"):
        model_snapshot(model=world.model, as_of=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))


def test_the_time_is_kept_exactly_and_never_after_now(world, clock):
    now = timezone.now()
    exact = now.replace(microsecond=654321) - dt.timedelta(minutes=5)

    snapshot = model_snapshot(model=world.model, as_of=exact)
    assert snapshot["as_of"] == exact.strftime("%Y-%m-%dT%H:%M:%S.654321Z")
    assert dt.datetime.fromisoformat(snapshot["as_of"]) == exact
    whole = exact.replace(microsecond=0)
    assert model_snapshot(model=world.model, as_of=whole)["as_of"] == _iso(whole)
    future = model_snapshot(model=world.model, as_of=now + dt.timedelta(days=30))
    assert dt.datetime.fromisoformat(future["as_of"]) <= timezone.now()
    day = model_snapshot(model=world.model, as_of=dt.date(2026, 3, 5))
    assert day["as_of"] == "2026-03-05T23:59:59Z"
    assert day["as_of_requested"] is True


def test_a_proposal_sent_back_after_the_time_still_shows_as_of_then(world, clock, cast):
    assessment = inventory.risk_assessment_submit(
        actor=cast.owner,
        model=world.model,
        answers={k: "low" for k in ("financial_exposure", "customer_impact", "regulatory_use")}
        | {"automation": "low", "complexity": "low"},
        eu_ai_act_class="minimal",
    )
    proposal = inventory.risk_assessment_decide(
        actor=cast.validator, assessment=assessment, tier=3, reason="Low impact since 2026."
    )
    clock.advance(hours=1)
    t1 = timezone.now()
    clock.advance(days=1)
    sign(proposal.approval_request, cast.validator2, "request_changes", "Explain the impact.")

    then = model_snapshot(model=world.model, as_of=t1)["risk_assessments"][0]
    now = model_snapshot(model=world.model)["risk_assessments"][0]

    assert (then["status"], then["decided_tier"]) == ("awaiting_approval", 3)
    assert then["decision_reason"] == "Low impact since 2026."
    assert then["decided_at"] is not None
    assert (now["status"], now["decided_tier"], now["decided_at"]) == ("pending", None, None)


def test_a_rollback_adds_its_version_to_the_incident_from_then_on(world, clock, cast):
    sign(world.v2_validation, cast.validator)
    promote(world.v2, cast.owner, [cast.business_owner, cast.validator])
    clock.advance(hours=1)
    t1 = timezone.now()
    clock.advance(hours=1)
    incidents.incident_rollback(
        actor=cast.validator, incident=world.incident, reason="Bad AUC", password=PASSWORD
    )
    clock.advance(hours=1)

    def affected(as_of=None) -> list[str]:
        snapshot = model_snapshot(model=world.model, as_of=as_of)
        return next(i for i in snapshot["incidents"] if i["reference"] == world.incident.reference)[
            "affected_versions"
        ]

    assert affected(t1) == ["1.0.0"]
    assert affected() == ["1.0.0", "2.0.0"]


def test_a_record_made_without_the_services_shows_as_it_is(clock, owned_model, model_owner):
    """Rows made directly (fixtures, data migrations) have no audit events: as of now they
    show as they are, and a time before their creation time refuses."""
    clock.advance(minutes=1)
    ModelVersionFactory(model=owned_model, version="0.1.0")

    snapshot = model_snapshot(model=owned_model)

    assert conforms(CONTRACT, snapshot) == []
    assert [v["version"] for v in snapshot["versions"]] == ["0.1.0"]
    assert snapshot["people"]["owner"]["username"] == model_owner.username
    assert snapshot["changes"] == []
    with pytest.raises(ApplicationError):
        model_snapshot(model=owned_model, as_of=clock.current - dt.timedelta(days=1))


# --- metrics ---------------------------------------------------------------------------------


def test_a_window_counts_the_days_up_to_the_time_and_needs_its_samples(world, clock):
    brier = next(m for m in model_snapshot(model=world.model)["metrics"] if m["metric"] == "brier")
    values = [0.18, 0.19, 0.21, 0.22, 0.23, 0.24]  # one a day, the last an hour ago

    assert brier["evaluated_value"] == pytest.approx(sum(values) / len(values))
    assert brier["state"] == "warning"  # above 0.2, below 0.25
    assert [point[1] for point in brier["series"]] == pytest.approx(values)

    # Five days on, only the last two observations are within the 7 days up to T.
    clock.advance(days=5, hours=2)
    later = next(m for m in model_snapshot(model=world.model)["metrics"] if m["metric"] == "brier")
    assert later["evaluated_value"] == pytest.approx((0.23 + 0.24) / 2)
    assert later["state"] == "insufficient_data"  # fewer than min_samples = 3
    assert later["latest"]["value"] == 0.24


def test_the_latest_value_is_the_newest_at_or_before_the_time(world, clock):
    auc = [0.81, 0.80, 0.79, 0.77, 0.74]
    t = timezone.now() - dt.timedelta(hours=13)  # between the 4th and the 5th value

    metric = next(m for m in model_snapshot(model=world.model, as_of=t)["metrics"])

    assert (metric["metric"], metric["latest"]["value"]) == ("auc", auc[3])
    assert metric["state"] == "ok"
    assert [p[1] for p in metric["series"]] == auc[:4]
    assert len(metric["series"]) <= 120


def test_the_chart_draws_at_most_ninety_days(world, clock, cast):
    batch = batch_for(world.model, cast.owner, name="long")
    values = [0.8] * 200
    observe(world.v1, world.auc, values, batch=batch, end=timezone.now() - dt.timedelta(days=6))

    metric = next(m for m in model_snapshot(model=world.model)["metrics"] if m["metric"] == "auc")

    assert 85 <= len(metric["series"]) <= snapshots.SERIES_DAYS
    assert metric["series"] == sorted(metric["series"])


# --- size ------------------------------------------------------------------------------------


def test_it_reads_the_same_number_of_queries_whatever_the_amount_of_data(cast, clock):
    small = build_world(cast, clock, slug="small", unit="Small")
    large = build_world(cast, clock, slug="large", unit="Large", extra=4)
    clock.advance(hours=1)

    def queries(model) -> tuple[int, dict]:
        with CaptureQueriesContext(connection) as ctx:
            snapshot = model_snapshot(model=model)
        return len(ctx.captured_queries), snapshot

    n_small, s_small = queries(small.model)
    n_large, s_large = queries(large.model)

    assert (len(s_small["versions"]), len(s_large["versions"])) == (2, 6)
    assert (len(s_small["metrics"]), len(s_large["metrics"])) == (2, 6)
    assert (len(s_small["incidents"]), len(s_large["incidents"])) == (1, 5)
    assert len(s_large["approvals"]) - len(s_small["approvals"]) == 8
    assert n_small == n_large
    # two batches, the hourly rollups (read alone: thousands of rows), the raw rows, the people
    assert n_large <= 5


def test_the_change_history_is_newest_first_and_capped(world, monkeypatch):
    monkeypatch.setattr(snapshot_changes, "MAX_CHANGES", 5)

    changes = model_snapshot(model=world.model)["changes"]

    newest = AuditEvent.objects.filter(model_ref=world.model.pk).order_by("-sequence")[:5]
    assert [c["sequence"] for c in changes] == [e.sequence for e in newest]


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- every metric observed, governance first -------------------------------------------------


def test_it_holds_every_metric_observed_in_the_chart_days_thresholded_or_not(world, cast, clock):
    from tests.reports.conftest import metric

    precision = metric(cast.admin, "precision", "higher_is_better", unit="ratio")
    batch = batch_for(world.model, cast.owner, name="precision")
    observe(world.v1, precision, [0.49, 0.47, 0.44, 0.42], batch=batch, end=timezone.now())
    observe(world.v1, precision, [0.3], batch=batch, end=timezone.now(), segment="rural")
    clock.advance(hours=1)

    snapshot = model_snapshot(model=world.model)

    assert conforms(CONTRACT, snapshot) == []
    observed = {m["metric"]: m for m in snapshot["observed_metrics"]}
    assert {"auc", "brier", "precision"} <= set(observed)
    (line,) = observed["precision"]["versions"]
    assert line["version"] == world.v1.version
    assert [round(v, 2) for _, v in line["series"]] == [0.49, 0.47, 0.44, 0.42]
    assert observed["precision"]["unit"] == "ratio"
    # The thresholded metric's series is the same in both places.
    auc = next(m for m in snapshot["metrics"] if m["metric"] == "auc")
    assert observed["auc"]["versions"][0]["series"] == auc["series"]


def test_a_past_snapshot_charts_only_what_was_observed_by_then(world, cast, clock):
    from tests.reports.conftest import metric

    then = timezone.now()
    clock.advance(days=1)
    precision = metric(cast.admin, "precision", "higher_is_better")
    batch = batch_for(world.model, cast.owner, name="later")
    observe(world.v1, precision, [0.5, 0.4], batch=batch, end=timezone.now())

    past = model_snapshot(model=world.model, as_of=then)

    assert "precision" not in {m["metric"] for m in past["observed_metrics"]}


def test_the_card_counts_what_the_audit_log_calls_automated():
    # The card's history and the audit log's governance filter agree on what is automated.
    from apps.audit import kinds

    assert set(snapshot_changes.AUTOMATED) == kinds.AUTOMATED_TYPES


def test_generated_reports_are_counted_not_listed_as_governance(world, cast, clock):
    from django.db import transaction

    from apps.audit.services import audit_record

    with transaction.atomic():
        audit_record(
            actor=cast.owner,
            action="create",
            object_type="reports.report",
            object_id="7",
            object_repr="Report 7: Model card (pdf)",
            model_ref=world.model.pk,
        )
    clock.advance(minutes=1)

    snapshot = model_snapshot(model=world.model)

    assert "reports.report" not in {c["object_type"] for c in snapshot["changes"]}
    (group,) = [g for g in snapshot["automated_activity"] if g["object_type"] == "reports.report"]
    assert (group["label"], group["events"]) == ("Reports generated", 1)


def test_the_history_lists_governance_changes_and_counts_automated_activity(world, cast, clock):
    from django.db import transaction

    from apps.audit.services import audit_record

    start = timezone.now()
    for name in ("first", "second"):
        batch = batch_for(world.model, cast.owner, name=f"audited-{name}")
        with transaction.atomic():
            audit_record(actor=cast.owner, action="create", obj=batch, model_ref=world.model.pk)
        clock.advance(minutes=30)
        with transaction.atomic():
            audit_record(actor=None, action="transition", obj=batch, model_ref=world.model.pk)
        clock.advance(days=1)
    end = timezone.now() - dt.timedelta(days=1)
    clock.advance(hours=1)

    snapshot = model_snapshot(model=world.model)

    listed = {c["object_type"] for c in snapshot["changes"]}
    assert "monitoring.ingestionbatch" not in listed
    assert {"inventory.registeredmodel", "approvals.approvalrequest"} <= listed
    (group,) = [
        g for g in snapshot["automated_activity"] if g["object_type"] == "monitoring.ingestionbatch"
    ]
    assert group == {
        "object_type": "monitoring.ingestionbatch",
        "label": "Metric ingestion batches",
        "events": 4,
        "objects": 2,
        "actions": {"create": 2, "transition": 2},
        "first_at": iso(start),
        "last_at": iso(end),
    }
    # As of before the second batch: only the first one is counted.
    past = model_snapshot(model=world.model, as_of=start + dt.timedelta(hours=1))
    (group,) = past["automated_activity"]
    assert (group["events"], group["objects"]) == (2, 1)
