"""Hand-written model snapshots and generation metadata for the pure report tests.

``sample_snapshot()`` follows the snapshot contract of ``apps.reports.snapshot.model_snapshot``
with every key present: a failed-delivery predictor with two versions, three metrics, a drift
run, two approvals with decisions, one incident, a review and a finding. Some user-written text
is hostile (script tags, a local file URL, a remote image, a spreadsheet formula) so renderers can
be shown to keep it inert. ``minimal_snapshot()`` is a model holding only required fields.
Every call returns fresh dicts, so tests may change them freely.
"""

from __future__ import annotations

import copy

GENESIS_HASH = "0" * 64

#: Hostile user text, also exported so tests can look for it in rendered output.
SCRIPT = "<script>alert('card')</script>"
LOCAL_FILE = "file:///etc/passwd"
REMOTE_IMAGE = '<img src="http://example.invalid/x.png">'
FORMULA = '=HYPERLINK("x")'
MARKDOWN_IMAGE = "![pixel](http://example.invalid/pixel.png)"
MARKDOWN_LINK = "[click me](file:///etc/passwd)"


def _person(username: str, name: str, *roles: str) -> dict:
    return {"username": username, "name": name, "role_labels": list(roles)}


OWNER = _person("mo.owner", "Mona Owner", "Model owner")
BUSINESS_OWNER = _person("bea.business", "Bea Business", "Business owner")
VALIDATOR = _person("val.validator", "Victor Validator", "Validator")
DEVELOPER = _person("dev.developer", "Dana Developer", "Model owner")
ADMIN = _person("ada.admin", "Ada Admin", "Administrator")
DATA_OWNER = _person("dora.data", "Dora Data", "Viewer")

TRAIN_DATASET = {
    "slug": "deliveries-2025h2",
    "name": "Deliveries 2025 H2",
    "uri": "s3://mlgov-data/deliveries/2025h2/",
    "version": "2026-01-05",
    "content_hash": "3f1c0a8e5b7d9c2e4f6a8b0c1d3e5f7a9b1c3d5e7f9a1b3c5d7e9f1a3b5c7d9e",
    "role": "trained_on",
    "role_label": "Trained on",
    "owner": DATA_OWNER,
    "contains_personal_data": True,
}
EVAL_DATASET = {
    "slug": "deliveries-2026q1-holdout",
    "name": "Deliveries 2026 Q1 hold-out",
    "uri": "s3://mlgov-data/deliveries/2026q1-holdout/",
    "version": "2026-04-02",
    "content_hash": "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90",
    "role": "evaluated_on",
    "role_label": "Evaluated on",
    "owner": DATA_OWNER,
    "contains_personal_data": False,
}
OLD_TRAIN_DATASET = {
    **TRAIN_DATASET,
    "slug": "deliveries-2025h1",
    "name": "Deliveries 2025 H1",
    "uri": "s3://mlgov-data/deliveries/2025h1/",
    "version": "2025-07-03",
    "content_hash": "9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b1a0f9e8d",
}

VERSION_2 = {
    "version": "2.1.0",
    "description": "Retrained on 2025 H2 deliveries; adds weather features. " + SCRIPT,
    "stage": "production",
    "stage_label": "Production",
    "artifact_uri": "s3://mlgov-models/failed-delivery/2.1.0/model.pkl",
    "artifact_sha256": "5d41402abc4b2a76b9719d911017c592ae1f7d2a6c0e1b3f4a5d6c7e8f9a0b1c",
    "code_commit": "8c3e1f0a9b7d5c3e1f0a9b7d5c3e1f0a9b7d5c3e",
    "hyperparameters": {"learning_rate": 0.05, "max_depth": 6, "n_estimators": 400},
    "evaluation_metrics": {"auc": 0.87, "precision_at_10": 0.62, "brier": 0.11},
    "created_at": "2026-04-10T09:30:00Z",
    "created_by": DEVELOPER,
    "approved_at": "2026-05-04T14:05:00Z",
    "approved_by": VALIDATOR,
    "datasets": [TRAIN_DATASET, EVAL_DATASET],
}
VERSION_1 = {
    "version": "1.4.2",
    "description": "Gradient-boosted baseline.",
    "stage": "archived",
    "stage_label": "Archived",
    "artifact_uri": "s3://mlgov-models/failed-delivery/1.4.2/model.pkl",
    "artifact_sha256": "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9",
    "code_commit": "1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b",
    "hyperparameters": {"learning_rate": 0.1, "max_depth": 4, "n_estimators": 200},
    "evaluation_metrics": {"auc": 0.83},
    "created_at": "2025-08-01T08:00:00Z",
    "created_by": DEVELOPER,
    "approved_at": "2025-08-20T16:45:00Z",
    "approved_by": VALIDATOR,
    "datasets": [OLD_TRAIN_DATASET],
}


def _signoff(request_id: int, digest: str) -> dict:
    return {
        "request_id": request_id,
        "content_sha256": digest,
        "approved_at": "2026-05-02T11:20:00Z",
        "approvers": [BUSINESS_OWNER, VALIDATOR],
    }


def _series(start: float, step: float, n: int = 6) -> list[list]:
    return [[f"2026-11-{18 + i:02d}T06:00:00Z", round(start + step * i, 4)] for i in range(n)]


PROMOTION_DIGEST = "d2a84f4b8b650937ec8f73cd8be2c74add5a911ba64df27458ed8229da804a26"
SIGNOFF_DIGEST = "c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00"

METRICS = [
    {
        "metric": "auc",
        "description": "Area under the ROC curve on labelled deliveries of the past week.",
        "unit": "",
        "direction": "higher_is_better",
        "segment": "",
        "version": None,
        "threshold": {
            "id": 11,
            "direction": "below",
            "warning_bound": 0.8,
            "critical_bound": 0.75,
            "evaluation": "mean",
            "evaluation_label": "Mean over a window",
            "window_days": 7,
            "min_samples": 3,
            "rationale": "Below 0.75 the courier re-routing programme loses money.",
            "review_by": "2027-05-01",
            "activated_at": "2026-05-02T11:20:00Z",
            "signoff": _signoff(1, SIGNOFF_DIGEST),
        },
        "latest": {"value": 0.86, "observed_at": "2026-11-23T06:00:00Z", "version": "2.1.0"},
        "evaluated_value": 0.858,
        "state": "ok",
        "series": _series(0.85, 0.002),
    },
    {
        "metric": "precision_at_10",
        "description": "Share of true failed deliveries among the top decile of scores.",
        "unit": "ratio",
        "direction": "higher_is_better",
        "segment": "region=north",
        "version": "2.1.0",
        "threshold": {
            "id": 12,
            "direction": "below",
            "warning_bound": 0.6,
            "critical_bound": 0.5,
            "evaluation": "latest",
            "evaluation_label": "Latest value",
            "window_days": None,
            "min_samples": 1,
            "rationale": "Planners ignore the list when fewer than half are real. " + FORMULA,
            "review_by": "2027-05-01",
            "activated_at": "2026-05-02T11:20:00Z",
            "signoff": _signoff(1, SIGNOFF_DIGEST),
        },
        "latest": {"value": 0.58, "observed_at": "2026-11-23T06:00:00Z", "version": "2.1.0"},
        "evaluated_value": 0.58,
        "state": "warning",
        "series": _series(0.63, -0.01),
    },
    {
        "metric": "brier",
        "description": "Brier score of the calibrated probability.",
        "unit": "",
        "direction": "lower_is_better",
        "segment": "",
        "version": None,
        "threshold": {
            "id": 13,
            "direction": "above",
            "warning_bound": 0.15,
            "critical_bound": 0.2,
            "evaluation": "max",
            "evaluation_label": "Maximum over a window",
            "window_days": 14,
            "min_samples": 10,
            "rationale": "Calibration drives the customer notification cut-off.",
            "review_by": "2027-05-01",
            "activated_at": "2026-05-02T11:20:00Z",
            "signoff": None,
        },
        "latest": None,
        "evaluated_value": None,
        "state": "insufficient_data",
        "series": [],
    },
]

#: Every metric observed over all segments in the chart's days, thresholded or not: auc (the
#: thresholded one, on two versions), precision (no threshold, falling) and a drift score.
OBSERVED_METRICS = [
    {
        "metric": "auc",
        "description": "Area under the ROC curve on labelled deliveries of the past week.",
        "unit": "",
        "direction": "higher_is_better",
        "versions": [
            {"version": "2.0.0", "series": _series(0.84, 0.001, 3)},
            {"version": "2.1.0", "series": _series(0.85, 0.002)},
        ],
    },
    {
        "metric": "drift.share",
        "description": "Share of drifted columns in the drift run.",
        "unit": "ratio",
        "direction": "lower_is_better",
        "versions": [{"version": "2.1.0", "series": _series(0.0, 0.04)}],
    },
    {
        "metric": "precision",
        "description": "Share of true failed deliveries among those flagged. " + SCRIPT,
        "unit": "ratio",
        "direction": "higher_is_better",
        "versions": [{"version": "2.1.0", "series": _series(0.49, -0.014)}],
    },
]

DRIFT = {
    "observed_at": "2026-11-22T02:00:00Z",
    "version": "2.1.0",
    "columns_total": 4,
    "columns_drifted": 1,
    "drift_share": 0.25,
    "dataset_drift": False,
    "columns": [
        {
            "column": "parcel_weight_kg",
            "kind": "numeric",
            "method": "wasserstein",
            "score": 0.14,
            "threshold": 0.1,
            "drifted": True,
            "psi": 0.21,
        },
        {
            "column": "distance_km",
            "kind": "numeric",
            "method": "ks",
            "score": 0.42,
            "threshold": 0.05,
            "drifted": False,
            "psi": 0.03,
        },
        {
            "column": "weather",
            "kind": "categorical",
            "method": "chisquare",
            "score": 0.31,
            "threshold": 0.05,
            "drifted": False,
            "psi": 0.02,
        },
        {
            "column": "slot",
            "kind": "categorical",
            "method": "jensenshannon",
            "score": 0.04,
            "threshold": 0.1,
            "drifted": False,
            "psi": None,
        },
    ],
}

APPROVALS = [
    {
        "id": 2,
        "kind": "promotion",
        "kind_label": "Promotion to production",
        "title": "Promote failed-delivery-predictor 2.1.0 to production",
        "status": "approved",
        "status_label": "Approved",
        "requested_by": OWNER,
        "requested_at": "2026-05-03T09:00:00Z",
        "closed_at": "2026-05-04T14:05:00Z",
        "content_sha256": PROMOTION_DIGEST,
        "decisions": [
            {
                "approver": BUSINESS_OWNER,
                "slot": "business_owner",
                "slot_label": "Named business owner",
                "verdict": "approve",
                "verdict_label": "Approve",
                "comment": "Fine by operations. " + REMOTE_IMAGE,
                "meaning": "I approve promoting this version to production.",
                "content_sha256": PROMOTION_DIGEST,
                "signed_at": "2026-05-03T15:10:00Z",
                "signature": {
                    "method": "password",
                    "issuer": "",
                    "auth_time": None,
                    "label": "password re-entered",
                },
            },
            {
                "approver": VALIDATOR,
                "slot": "validator",
                "slot_label": "Validator",
                "verdict": "approve",
                "verdict_label": "Approve",
                "comment": "Validation report VR-2026-014 attached.",
                "meaning": "I approve promoting this version to production.",
                "content_sha256": PROMOTION_DIGEST,
                "signed_at": "2026-05-04T14:05:00Z",
                "signature": {
                    "method": "provider",
                    "issuer": "https://login.bank.example",
                    "auth_time": "2026-05-04T14:04:51Z",
                    "label": "re-authenticated at https://login.bank.example "
                    "(auth_time 2026-05-04T14:04:51Z)",
                },
            },
        ],
    },
    {
        "id": 1,
        "kind": "threshold_signoff",
        "kind_label": "Threshold sign-off",
        "title": "Sign off monitoring thresholds for failed-delivery-predictor",
        "status": "approved",
        "status_label": "Approved",
        "requested_by": OWNER,
        "requested_at": "2026-05-01T10:00:00Z",
        "closed_at": "2026-05-02T11:20:00Z",
        "content_sha256": SIGNOFF_DIGEST,
        "decisions": [
            {
                "approver": BUSINESS_OWNER,
                "slot": "business_owner",
                "slot_label": "Named business owner",
                "verdict": "approve",
                "verdict_label": "Approve",
                "comment": "",
                "meaning": "I approve these thresholds as the limits of acceptable performance.",
                "content_sha256": SIGNOFF_DIGEST,
                "signed_at": "2026-05-01T16:00:00Z",
                "signature": {
                    "method": "password",
                    "issuer": "",
                    "auth_time": None,
                    "label": "password re-entered",
                },
            },
            {
                "approver": VALIDATOR,
                "slot": "validator",
                "slot_label": "Validator",
                "verdict": "approve",
                "verdict_label": "Approve",
                "comment": "Bounds consistent with the validation results.",
                "meaning": "I approve these thresholds as the limits of acceptable performance.",
                "content_sha256": SIGNOFF_DIGEST,
                "signed_at": "2026-05-02T11:20:00Z",
                "signature": {
                    "method": "password",
                    "issuer": "",
                    "auth_time": None,
                    "label": "password re-entered",
                },
            },
        ],
    },
]

INCIDENTS = [
    {
        "reference": "INC-2026-0007",
        "title": "Precision drop in the northern region",
        "severity": "sev3",
        "status": "mitigated",
        "status_label": "Mitigated",
        "description": "precision_at_10 fell below its warning bound. See " + MARKDOWN_LINK,
        "impact": "Planners re-routed fewer parcels for three days. " + MARKDOWN_IMAGE,
        "root_cause": "New depot opened; its parcels were missing from training data.",
        "corrective_actions": "Depot added to the feature pipeline; retraining scheduled.",
        "detected_at": "2026-11-20T07:12:00Z",
        "awareness_at": "2026-11-20T08:00:00Z",
        "serious_category": "",
        "serious_category_label": "Not a serious incident",
        "reporting_deadline": None,
        "reported_at": None,
        "resolved_at": None,
        "closed_at": None,
        "affected_versions": ["2.1.0"],
    }
]

REVIEWS = [
    {
        "id": 3,
        "reviewer": VALIDATOR,
        "scope": "Annual review 2026: performance, data, controls.",
        "status": "attested",
        "status_label": "Attested",
        "outcome": "remediation_needed",
        "outcome_label": "Remediation needed",
        "due_date": "2026-10-31",
        "reviewed_on": "2026-10-20",
        "attested_at": "2026-10-24T13:00:00Z",
    }
]

FINDINGS = [
    {
        "id": 5,
        "title": "Segment metrics missing for new depots",
        "severity": "medium",
        "severity_label": "Medium",
        "status": "open",
        "status_label": "Open",
        "owner": OWNER,
        "due_date": "2027-01-31",
        "description": "Add per-depot monitoring. <b>Bold</b> & *emphasis* | pipe",
    }
]

RISK_ASSESSMENTS = [
    {
        "assessed_at": "2026-03-15T10:00:00Z",
        "assessed_by": VALIDATOR,
        "eu_ai_act_class": "minimal",
        "suggested_tier": 2,
        "points": 9,
        "status": "confirmed",
        "decided_tier": 2,
        "decided_at": "2026-03-16T09:00:00Z",
        "decision_reason": "Material to operations, no decisions about natural persons.",
    }
]

CHANGES = [
    {
        "sequence": 412,
        "occurred_at": "2026-11-20T08:01:00Z",
        "actor": "mo.owner",
        "action": "create",
        "object_type": "incidents.incident",
        "object_repr": "INC-2026-0007",
        "fields": [],
        "message": "Incident opened",
    },
    {
        "sequence": 388,
        "occurred_at": "2026-05-04T14:05:00Z",
        "actor": "val.validator",
        "action": "update",
        "object_type": "inventory.modelversion",
        "object_repr": "failed-delivery-predictor 2.1.0",
        "fields": ["stage", "approved_at", "approved_by"],
        "message": "Promoted to production",
    },
    {
        "sequence": 301,
        "occurred_at": "2026-03-16T09:00:00Z",
        "actor": "val.validator",
        "action": "update",
        "object_type": "inventory.registeredmodel",
        "object_repr": "Failed-delivery predictor",
        "fields": ["risk_tier", "risk_tier_rationale", "risk_assessed_by"],
        "message": "Risk tier confirmed",
    },
]

AUTOMATED_ACTIVITY = [
    {
        "object_type": "monitoring.ingestionbatch",
        "label": "Metric ingestion batches",
        "events": 180,
        "objects": 90,
        "actions": {"create": 90, "transition": 90},
        "first_at": "2026-08-26T06:00:00Z",
        "last_at": "2026-11-23T06:00:00Z",
    },
    {
        "object_type": "monitoring.driftrun",
        "label": "Drift runs",
        "events": 26,
        "objects": 13,
        "actions": {"create": 13, "transition": 13},
        "first_at": "2026-08-30T02:00:00Z",
        "last_at": "2026-11-22T02:00:00Z",
    },
]

_SAMPLE = {
    "schema": "mlgov.model-snapshot/2",
    "as_of": "2026-11-24T10:15:00Z",
    "as_of_requested": False,
    "audit_chain_head": {
        "sequence": 415,
        "hash": "7f83b1657ff1fc53b92dc18148a1d65dfc2d4b1fa3d677284addd200126d9069",
    },
    "model": {
        "slug": "failed-delivery-predictor",
        "name": "Failed-delivery predictor",
        "description": "Scores each parcel out for delivery with the probability that the first "
        "attempt fails. " + SCRIPT,
        "purpose": "Lets route planners re-order stops and notify customers before a likely "
        "failed delivery attempt.",
        "out_of_scope_uses": "Not for courier performance evaluation or pricing. "
        "Do not open " + LOCAL_FILE,
        "intended_users": "Route planners and the customer notification service.",
        "business_unit": {"code": "LOG", "name": "Logistics"},
        "origin": "in_house",
        "origin_label": "In-house",
        "vendor": "",
        "model_type": "classification",
        "model_type_label": "Classification",
        "algorithm": "Gradient-boosted trees (LightGBM) with isotonic calibration",
        "inputs": "Parcel weight, distance, delivery slot, weather forecast, address history.",
        "outputs": "Probability that the first delivery attempt fails (0–1).",
        "downstream_consumers": "Route planner; customer notification service.",
        "limitations": "Unreliable for new depots until four weeks of history exist. "
        + REMOTE_IMAGE,
        "assumptions": "Address history is complete for returning customers.",
        "ethical_considerations": "Address history may correlate with neighbourhood income; "
        "scores are never shown to couriers. " + MARKDOWN_IMAGE,
        "explainability": "Per-parcel SHAP values are logged for the top ten features.",
        "human_oversight_contact": "planning-leads@example.com",
        "status": "production",
        "status_label": "Production",
        "lifecycle": {
            "created_at": "2025-06-02T08:00:00Z",
            "status_changed_at": "2026-05-04T14:05:00Z",
            "validation_started_at": "2025-08-05T09:00:00Z",
            "approved_at": "2025-08-20T16:45:00Z",
            "deployed_at": "2025-08-25T07:00:00Z",
            "retired_at": None,
            "retirement_reason": "",
        },
        "next_review_date": "2027-10-31",
        "risk": {
            "tier": 2,
            "tier_label": "Tier 2 (medium)",
            "rationale": "Material to operations, no decisions about natural persons. " + FORMULA,
            "assessed_by": VALIDATOR,
            "assessed_at": "2026-03-16T09:00:00Z",
        },
        "eu_ai_act": {
            "class": "minimal",
            "class_label": "Minimal risk",
            "annex_iii_point": "",
            "annex_iii_label": "—",
        },
    },
    "people": {
        "owner": OWNER,
        "business_owner": BUSINESS_OWNER,
        "validator": VALIDATOR,
        "developers": [DEVELOPER],
    },
    "production_version": VERSION_2,
    "versions": [VERSION_2, VERSION_1],
    "deployments": [
        {
            "version": "2.1.0",
            "environment": "production",
            "environment_label": "Production",
            "endpoint": "https://models.example.internal/failed-delivery/v2",
            "consumers": "Route planner",
            "status": "active",
            "status_label": "Active",
            "deployed_at": "2026-05-05T06:00:00Z",
        },
        {
            "version": "1.4.2",
            "environment": "production",
            "environment_label": "Production",
            "endpoint": "https://models.example.internal/failed-delivery/v1",
            "consumers": "Route planner",
            "status": "inactive",
            "status_label": "Inactive",
            "deployed_at": "2025-08-25T07:00:00Z",
        },
    ],
    "dependencies": {
        "upstream": [
            {
                "slug": "address-quality-scorer",
                "name": "Address quality scorer",
                "kind": "feeds",
                "description": "Address confidence score used as a feature.",
            }
        ],
        "downstream": [
            {
                "slug": "courier-capacity-forecast",
                "name": "Courier capacity forecast",
                "kind": "feeds",
                "description": "Expected failed attempts per route.",
            }
        ],
    },
    "metrics": METRICS,
    "observed_metrics": OBSERVED_METRICS,
    "drift": DRIFT,
    "approvals": APPROVALS,
    "incidents": INCIDENTS,
    "reviews": REVIEWS,
    "findings": FINDINGS,
    "risk_assessments": RISK_ASSESSMENTS,
    "changes": CHANGES,
    "automated_activity": AUTOMATED_ACTIVITY,
}

_MINIMAL = {
    "schema": "mlgov.model-snapshot/2",
    "as_of": "2026-11-24T10:15:00Z",
    "as_of_requested": False,
    "audit_chain_head": {"sequence": 0, "hash": GENESIS_HASH},
    "model": {
        "slug": "bare-model",
        "name": "Bare model",
        "description": "",
        "purpose": "",
        "out_of_scope_uses": "",
        "intended_users": "",
        "business_unit": {"code": "OPS", "name": "Operations"},
        "origin": "in_house",
        "origin_label": "In-house",
        "vendor": "",
        "model_type": "other",
        "model_type_label": "Other",
        "algorithm": "",
        "inputs": "",
        "outputs": "",
        "downstream_consumers": "",
        "limitations": "",
        "assumptions": "",
        "ethical_considerations": "",
        "explainability": "",
        "human_oversight_contact": "",
        "status": "development",
        "status_label": "Development",
        "lifecycle": {
            "created_at": "2026-11-01T12:00:00Z",
            "status_changed_at": None,
            "validation_started_at": None,
            "approved_at": None,
            "deployed_at": None,
            "retired_at": None,
            "retirement_reason": "",
        },
        "next_review_date": None,
        "risk": {
            "tier": None,
            "tier_label": "",
            "rationale": "",
            "assessed_by": None,
            "assessed_at": None,
        },
        "eu_ai_act": {
            "class": "unassessed",
            "class_label": "Not yet assessed",
            "annex_iii_point": "",
            "annex_iii_label": "—",
        },
    },
    "people": {"owner": OWNER, "business_owner": None, "validator": None, "developers": []},
    "production_version": None,
    "versions": [],
    "deployments": [],
    "dependencies": {"upstream": [], "downstream": []},
    "metrics": [],
    "observed_metrics": [],
    "drift": None,
    "approvals": [],
    "incidents": [],
    "reviews": [],
    "findings": [],
    "risk_assessments": [],
    "changes": [],
    "automated_activity": [],
}

_META = {
    "generated_at": "2026-11-24T10:15:03Z",
    "generated_by": _person("audrey.auditor", "Audrey Auditor", "Auditor"),
    "generator": "mlgov 0.5.0",
    "snapshot_sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "audit_chain_head": {
        "sequence": 415,
        "hash": "7f83b1657ff1fc53b92dc18148a1d65dfc2d4b1fa3d677284addd200126d9069",
    },
    "as_of": "2026-11-24T10:15:00Z",
    "report_id": 42,
}

#: Substrings of the hostile text that must never reach rendered output unescaped.
HOSTILE = (SCRIPT, LOCAL_FILE, REMOTE_IMAGE, FORMULA, MARKDOWN_IMAGE, MARKDOWN_LINK)


def sample_snapshot() -> dict:
    """A complete snapshot of a production model (deep copy; safe to modify)."""
    return copy.deepcopy(_SAMPLE)


def minimal_snapshot() -> dict:
    """A model with nothing but required fields: no versions, metrics or texts."""
    return copy.deepcopy(_MINIMAL)


def sample_meta() -> dict:
    """Generation metadata for a report of ``sample_snapshot()``."""
    return copy.deepcopy(_META)
