"""Every browser page and API endpoint, visited as every role, anonymous and a user with no role.

Expected outcomes come from the rules in apps/*/rules.py. Each route with an object is visited on
an object in the user's reach and on one outside it (which must answer 404 to model and business
owners). The test fails when a route exists that this matrix does not name, so a new endpoint
cannot ship without deciding who may use it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from apps.approvals import services as approval_services
from apps.approvals.choices import ApprovalKind
from apps.core import roles
from apps.incidents import services as incident_services
from apps.inventory import services
from apps.inventory.risk import FACTORS
from apps.mlflow_sync.models import MlflowConnection, SyncRun
from apps.monitoring.models import IngestionBatch
from apps.notifications.models import Notification
from apps.openlineage.models import LineageJob, NamingRule
from apps.reviews.models import Finding, Review
from tests.factories import (
    DatasetFactory,
    DeploymentFactory,
    ModelVersionFactory,
    RegisteredModelFactory,
    UserFactory,
    api_token_key,
)
from tests.monitoring.drift.factories import make_run as make_drift_run
from tests.monitoring.factories import ThresholdFactory
from tests.reports.jobs import done_report
from tests.shared_rows import shared_rows

ANON, NOROLE, ADMIN, VAL, BO, MO, AUD, VIEW = (
    "anonymous",
    "no_role",
    "admin",
    "validator",
    "business_owner",
    "model_owner",
    "auditor",
    "viewer",
)
PERSONAS = (ANON, NOROLE, ADMIN, VAL, BO, MO, AUD, VIEW)
ROLES = (ADMIN, VAL, BO, MO, AUD, VIEW)

OK, DENIED, HIDDEN, LOGIN = "ok", "403", "404", "login"


def allow(*who: str, public: bool = False, any_user: bool = False) -> dict[str, str]:
    """Outcome per persona: the named roles get OK, other roles 403, anonymous the login."""
    table = {p: (OK if p in who else DENIED) for p in PERSONAS}
    table[ANON] = OK if public else LOGIN
    if any_user:
        table[NOROLE] = OK
    return table


EVERY_ROLE = ROLES
EDITORS = (ADMIN, VAL, MO, BO)  # inventory.change_registeredmodel on an owned model
REGISTRARS = (ADMIN, MO)  # inventory.add_modelversion on an owned model
STAGERS = (ADMIN, VAL, MO)  # owners stage their versions; validators promote to production
TRANSITIONERS = (ADMIN, VAL, MO)
DECIDERS = (ADMIN, VAL)
AUDIT_READERS = (ADMIN, VAL, AUD)
DATASET_CREATORS = (ADMIN, VAL, MO)
THRESHOLD_EDITORS = (ADMIN, VAL, MO)  # monitoring.change_threshold on an owned model


@dataclass
class Case:
    name: str
    method: str = "get"
    expect: dict[str, str] = field(default_factory=dict)
    obj: str | None = None  # "model", "dataset", "assessment", "deployment", "event", …
    constrained: bool = False  # also visit an object outside the owners' reach -> 404


ON_THRESHOLD = {"obj": "threshold", "constrained": True}
ON_DRIFTRUN = {"obj": "driftrun", "constrained": True}
ON_BATCH = {"obj": "batch", "constrained": True}
PUSHERS = (ADMIN, VAL, MO)  # monitoring.ingest_metrics on an owned model
DRIFT_RUNNERS = (ADMIN, VAL, MO)  # monitoring.run_drift on an owned model
RETRIERS = (ADMIN, MO)  # whoever started the job (the model owner here), or an administrator


def model_case(name, method="get", who=EVERY_ROLE, **kw):
    return Case(name, method, allow(*who), obj="model", constrained=True, **kw)


def approval_case(name, method="get", who=EVERY_ROLE):
    return Case(name, method, allow(*who), obj="approval", constrained=True)


REQUESTERS = (ADMIN, VAL, MO)  # approvals.add_approvalrequest
APPROVERS = (ADMIN, VAL, BO)  # approvals.decide_approvalrequest (the named business owner)
WITHDRAWERS = (ADMIN, MO)  # the requester, or an administrator


REVIEWERS = (ADMIN, VAL)  # reviews.add_review, reviews.change_review
FINDING_EDITORS = (ADMIN, VAL, MO)  # validators, or the finding's owner


INCIDENT_RESPONDERS = (ADMIN, VAL, MO)  # incidents.change_incident on an owned model
INCIDENT_COMMENTERS = (ADMIN, VAL, MO, BO)  # the named business owner comments too
ROLLBACKERS = (ADMIN, VAL)  # incidents.rollback_incident
MLFLOW_READERS = (ADMIN, VAL, AUD)  # mlflow_sync.view_mlflowconnection, view_syncrun


REPORT_REQUESTERS = (ADMIN, VAL, BO, MO, AUD)  # every role but viewer (reports.add_report)
# A report is seen by the audit readers and by its requester (the model owner here); a viewer
# has no reports at all (403), the business owner did not ask for this one (404).
REPORT_SEERS = {**allow(*REPORT_REQUESTERS), BO: HIDDEN}
ON_REPORT = {"obj": "report", "constrained": True}
REPORT_RETRIERS = {**allow(ADMIN, MO), BO: HIDDEN}


SCIM_ONLY = dict.fromkeys(PERSONAS, LOGIN)
SCIM_KWARGS = {
    "scim:resource_type": {"name": "User"},
    "scim:schema": {"uri": "urn:ietf:params:scim:schemas:core:2.0:User"},
    "scim:user": {"scim_id": "2819c223-7f76-453a-919d-413861904646"},
    "scim:group": {"scim_id": "2819c223-7f76-453a-919d-413861904646"},
    "scim:not_found": {"rest": "Printers"},
}


def incident_case(name, method="get", who=EVERY_ROLE):
    return Case(name, method, allow(*who), obj="incident", constrained=True)


def review_case(name, method="get", who=EVERY_ROLE):
    return Case(name, method, allow(*who), obj="review", constrained=True)


def finding_case(name, method="get", who=EVERY_ROLE):
    return Case(name, method, allow(*who), obj="finding", constrained=True)


MATRIX: list[Case] = [
    # browser pages
    Case("dashboard:home", expect=allow(*EVERY_ROLE)),
    Case("accounts:login", expect=allow(*EVERY_ROLE, public=True, any_user=True)),
    # Signing out always lands on the sign-in page.
    Case("accounts:logout", "post", dict.fromkeys(PERSONAS, LOGIN)),
    Case("accounts:password_change", expect=allow(*EVERY_ROLE, any_user=True)),
    Case("accounts:password_change_done", expect=allow(*EVERY_ROLE, any_user=True)),
    # Everyone signed in sees their own tokens; making one needs a role (checked on POST).
    Case("accounts:token_list", expect=allow(*EVERY_ROLE, any_user=True)),
    Case("accounts:token_list", "post", allow(*EVERY_ROLE)),
    Case("accounts:token_list_all", expect=allow(ADMIN)),
    # The token to revoke is named in the body: without one there is nothing in reach.
    Case(
        "accounts:token_revoke",
        "post",
        {**dict.fromkeys(PERSONAS, HIDDEN), ANON: LOGIN},
    ),
    # Sign-in through the identity provider: 404 while none is configured (the matrix runs
    # without one); with one, anyone may start it (tests/identity/test_sign_in.py).
    Case("identity:oidc_login", expect=dict.fromkeys(PERSONAS, HIDDEN)),
    Case("identity:oidc_callback", expect=dict.fromkeys(PERSONAS, HIDDEN)),
    Case("identity:signature_callback", expect=dict.fromkeys(PERSONAS, HIDDEN)),
    Case("accounts:lockout_list", expect=allow(ADMIN)),
    Case("accounts:lockout_lift", "post", allow(ADMIN)),
    Case("inventory:model_list", expect=allow(*EVERY_ROLE)),
    Case("inventory:model_export_csv", expect=allow(*EVERY_ROLE)),
    Case("inventory:model_suggest", expect=allow(*EVERY_ROLE)),
    Case("inventory:model_create", expect=allow(ADMIN, MO)),
    model_case("inventory:model_detail"),
    model_case("inventory:model_versions"),
    model_case("inventory:model_lineage"),
    model_case("inventory:model_risk"),
    model_case("inventory:model_history", who=AUDIT_READERS),
    model_case("inventory:model_edit", who=EDITORS),
    model_case("inventory:model_transition", "post", who=TRANSITIONERS),
    model_case("inventory:risk_assess", "post", who=TRANSITIONERS),
    Case("inventory:risk_decide", "post", allow(*DECIDERS), obj="assessment", constrained=True),
    model_case("inventory:version_create", who=REGISTRARS),
    Case("inventory:version_detail", expect=allow(*EVERY_ROLE), obj="version", constrained=True),
    Case("inventory:version_edit", expect=allow(*REGISTRARS), obj="version", constrained=True),
    Case("inventory:version_stage", "post", allow(*STAGERS), obj="version", constrained=True),
    model_case("inventory:deployment_create", who=REGISTRARS),
    model_case("inventory:dependency_create", who=EDITORS),
    Case("inventory:dataset_list", expect=allow(*EVERY_ROLE)),
    Case("inventory:dataset_suggest", expect=allow(*EVERY_ROLE)),
    Case("inventory:dataset_create", expect=allow(*DATASET_CREATORS)),
    Case("inventory:dataset_detail", expect=allow(*EVERY_ROLE), obj="dataset"),
    Case("inventory:dataset_edit", expect=allow(ADMIN, MO), obj="dataset"),
    Case("audit:event_list", expect=allow(*AUDIT_READERS)),
    Case("audit:verify", "post", allow(*AUDIT_READERS)),
    Case("audit:verify", expect=allow(*AUDIT_READERS)),
    Case("audit:verification", expect=allow(*AUDIT_READERS), obj="verification"),
    Case("admin:index", expect={**allow(ADMIN), **dict.fromkeys(PERSONAS[:2] + ROLES[1:], LOGIN)}),
    # API
    Case("api-schema", expect=allow(*EVERY_ROLE)),
    Case("api-docs", expect=allow(*EVERY_ROLE)),
    # The icon browsers ask for on pages that name none (admin, JSON): nothing private.
    Case("favicon", expect=allow(*EVERY_ROLE, public=True, any_user=True)),
    Case("api:model-list", expect=allow(*EVERY_ROLE)),
    Case("api:model-list", "post", allow(ADMIN, MO)),
    model_case("api:model-detail"),
    model_case("api:model-detail", "patch", who=EDITORS),
    model_case("api:model-detail", "delete", who=(ADMIN,)),
    model_case("api:model-lineage"),
    model_case("api:model-transition", "post", who=TRANSITIONERS),
    model_case("api:model-signature-challenge", "post", who=TRANSITIONERS),
    model_case("api:model-version-list"),
    model_case("api:model-version-list", "post", who=REGISTRARS),
    Case("api:model-version-detail", expect=allow(*EVERY_ROLE), obj="version", constrained=True),
    Case("api:model-version-detail", "patch", allow(*REGISTRARS), obj="version", constrained=True),
    Case("api:model-version-stage", "post", allow(*STAGERS), obj="version", constrained=True),
    Case(
        "api:model-version-signature-challenge",
        "post",
        allow(*STAGERS),
        obj="version",
        constrained=True,
    ),
    model_case("api:model-risk-assessment-list"),
    model_case("api:model-risk-assessment-list", "post", who=TRANSITIONERS),
    Case(
        "api:model-risk-assessment-detail",
        obj="assessment",
        constrained=True,
        expect=allow(*EVERY_ROLE),
    ),
    Case(
        "api:model-risk-assessment-decide",
        "post",
        allow(*DECIDERS),
        obj="assessment",
        constrained=True,
    ),
    Case("api:dataset-list", expect=allow(*EVERY_ROLE)),
    Case("api:dataset-list", "post", allow(*DATASET_CREATORS)),
    Case("api:dataset-detail", expect=allow(*EVERY_ROLE), obj="dataset"),
    Case("api:dataset-detail", "patch", allow(ADMIN, MO), obj="dataset"),
    Case("api:deployment-list", expect=allow(*EVERY_ROLE)),
    Case("api:deployment-list", "post", allow(*REGISTRARS)),
    Case("api:deployment-detail", expect=allow(*EVERY_ROLE), obj="deployment", constrained=True),
    Case("api:lineage", expect=allow(*EVERY_ROLE)),
    Case("api:audit-event-list", expect=allow(*AUDIT_READERS)),
    Case("api:audit-event-detail", expect=allow(*AUDIT_READERS), obj="event"),
    Case("api:audit-event-verify", expect=allow(*AUDIT_READERS)),
    Case("api:audit-event-verify", "post", allow(*AUDIT_READERS)),
    Case("api:audit-verification-list", expect=allow(*AUDIT_READERS)),
    Case("api:audit-verification-detail", expect=allow(*AUDIT_READERS), obj="verification"),
    # monitoring: thresholds (model owner, validators, admins draft; business owners sign
    # off through the approval engine) and metric definitions (validators, admins)
    model_case("monitoring:threshold_list"),
    model_case("monitoring:threshold_create", who=THRESHOLD_EDITORS),
    Case("monitoring:threshold_detail", expect=allow(*EVERY_ROLE), **ON_THRESHOLD),
    Case("monitoring:threshold_edit", expect=allow(*THRESHOLD_EDITORS), **ON_THRESHOLD),
    Case("monitoring:threshold_submit", "post", allow(*THRESHOLD_EDITORS), **ON_THRESHOLD),
    Case("monitoring:threshold_revise", "post", allow(*THRESHOLD_EDITORS), **ON_THRESHOLD),
    Case("api:threshold-list", expect=allow(*EVERY_ROLE)),
    Case("api:threshold-list", "post", allow(*THRESHOLD_EDITORS)),
    Case("api:threshold-detail", expect=allow(*EVERY_ROLE), **ON_THRESHOLD),
    Case("api:threshold-detail", "patch", allow(*THRESHOLD_EDITORS), **ON_THRESHOLD),
    Case("api:threshold-submit", "post", allow(*THRESHOLD_EDITORS), **ON_THRESHOLD),
    Case("api:threshold-revise", "post", allow(*THRESHOLD_EDITORS), **ON_THRESHOLD),
    Case("api:metric-list", expect=allow(*EVERY_ROLE)),
    Case("api:metric-list", "post", allow(ADMIN, VAL)),
    # monitoring: the Monitoring tab and the metrics of a model (whoever sees the model)
    model_case("monitoring:model_monitoring"),
    model_case("api:model-metric-list"),
    Case("api:model-metric-detail", expect=allow(*EVERY_ROLE), obj="metric", constrained=True),
    Case(
        "api:model-metric-observations", expect=allow(*EVERY_ROLE), obj="metric", constrained=True
    ),
    Case(
        "api:model-metric-observations-csv",
        expect=allow(*EVERY_ROLE),
        obj="metric",
        constrained=True,
    ),
    # drift: whoever sees the model reads its runs; its team, validators and admins upload
    model_case("monitoring:drift_list"),
    model_case("monitoring:drift_list", "post", who=DRIFT_RUNNERS),
    Case("monitoring:drift_detail", expect=allow(*EVERY_ROLE), **ON_DRIFTRUN),
    Case("monitoring:drift_progress", expect=allow(*EVERY_ROLE), **ON_DRIFTRUN),
    Case("api:drift-run-list", expect=allow(*EVERY_ROLE)),
    Case("api:drift-run-list", "post", allow(*DRIFT_RUNNERS)),
    Case("api:drift-run-detail", expect=allow(*EVERY_ROLE), **ON_DRIFTRUN),
    # a failed or stalled job is sent again by whoever started it, or an administrator
    Case("monitoring:drift_retry", "post", allow(*RETRIERS), **ON_DRIFTRUN),
    Case("api:drift-run-retry", "post", allow(*RETRIERS), **ON_DRIFTRUN),
    # ingestion: the model's owner, validators and admins push metrics; a batch scoped to a
    # model is seen by whoever sees the model
    Case("monitoring:batch_list", expect=allow(*EVERY_ROLE)),
    Case("monitoring:batch_create", expect=allow(*PUSHERS)),
    Case("monitoring:batch_detail", expect=allow(*EVERY_ROLE), **ON_BATCH),
    Case("monitoring:batch_progress", expect=allow(*EVERY_ROLE), **ON_BATCH),
    Case("monitoring:batch_retry", "post", allow(*RETRIERS), **ON_BATCH),
    Case("api:ingestion-retry", "post", allow(*RETRIERS), **ON_BATCH),
    Case("api:ingestion-list", expect=allow(*EVERY_ROLE)),
    Case("api:ingestion-list", "post", allow(*PUSHERS)),
    Case("api:ingestion-detail", expect=allow(*EVERY_ROLE), **ON_BATCH),
    # approvals (on each model, a retirement asked by the model's owner)
    Case("approvals:inbox", expect=allow(*EVERY_ROLE)),
    Case("approvals:my_requests", expect=allow(*EVERY_ROLE)),
    Case("approvals:policy", expect=allow(*EVERY_ROLE)),
    approval_case("approvals:request_detail"),
    approval_case("approvals:request_compare"),
    approval_case("approvals:request_decide", "post", who=APPROVERS),
    approval_case("approvals:request_withdraw", "post", who=WITHDRAWERS),
    model_case("approvals:model_approvals"),
    model_case("approvals:request_create", "post", who=REQUESTERS),
    model_case("approvals:gate_lift", who=(ADMIN,)),
    Case("api:approval-list", expect=allow(*EVERY_ROLE)),
    Case("api:approval-list", "post", allow(*REQUESTERS)),
    approval_case("api:approval-detail"),
    approval_case("api:approval-decide", "post", who=APPROVERS),
    approval_case("api:approval-signature-challenge", "post", who=APPROVERS),
    approval_case("api:approval-withdraw", "post", who=WITHDRAWERS),
    # reviews and findings: validators and admins open reviews and record findings; a finding's
    # owner (the model owner here) adds evidence and may ask for risk acceptance
    Case("reviews:review_list", expect=allow(*EVERY_ROLE)),
    Case("reviews:review_create", expect=allow(ADMIN, VAL)),
    review_case("reviews:review_detail"),
    review_case("reviews:review_edit", who=REVIEWERS),
    review_case("reviews:review_submit", "post", who=REVIEWERS),
    model_case("reviews:model_reviews"),
    Case("reviews:finding_list", expect=allow(*EVERY_ROLE)),
    Case("reviews:finding_create", expect=allow(ADMIN, VAL)),
    finding_case("reviews:finding_detail"),
    finding_case("reviews:finding_edit", who=FINDING_EDITORS),
    finding_case("reviews:finding_status", "post", who=FINDING_EDITORS),
    finding_case("reviews:finding_risk_acceptance", "post", who=FINDING_EDITORS),
    Case("api:review-list", expect=allow(*EVERY_ROLE)),
    Case("api:review-list", "post", allow(*REVIEWERS)),
    review_case("api:review-detail"),
    review_case("api:review-detail", "patch", who=REVIEWERS),
    review_case("api:review-submit", "post", who=REVIEWERS),
    Case("api:finding-list", expect=allow(*EVERY_ROLE)),
    Case("api:finding-list", "post", allow(*REVIEWERS)),
    finding_case("api:finding-detail"),
    finding_case("api:finding-detail", "patch", who=FINDING_EDITORS),
    finding_case("api:finding-status", "post", who=FINDING_EDITORS),
    finding_case("api:finding-risk-acceptance", "post", who=FINDING_EDITORS),
    # incidents: the model's team, validators and admins respond; the business owner
    # comments; admins and validators roll back (an emergency change ratified afterwards)
    Case("incidents:incident_list", expect=allow(*EVERY_ROLE)),
    Case("incidents:incident_create", expect=allow(*INCIDENT_RESPONDERS)),
    # the Incidents tab of the model page: whoever sees the model; 404 out of reach
    model_case("incidents:model_incidents"),
    incident_case("incidents:incident_detail"),
    incident_case("incidents:incident_edit", who=INCIDENT_RESPONDERS),
    incident_case("incidents:incident_transition", "post", who=INCIDENT_RESPONDERS),
    incident_case("incidents:incident_comment", "post", who=INCIDENT_COMMENTERS),
    incident_case("incidents:incident_rollback", "post", who=ROLLBACKERS),
    Case("api:incident-list", expect=allow(*EVERY_ROLE)),
    Case("api:incident-list", "post", allow(*INCIDENT_RESPONDERS)),
    incident_case("api:incident-detail"),
    incident_case("api:incident-detail", "patch", who=INCIDENT_RESPONDERS),
    incident_case("api:incident-transition", "post", who=INCIDENT_RESPONDERS),
    incident_case("api:incident-comment", "post", who=INCIDENT_COMMENTERS),
    incident_case("api:incident-rollback", "post", who=ROLLBACKERS),
    incident_case("api:incident-signature-challenge", "post", who=ROLLBACKERS),
    # reports: every role but viewer asks for reports, within what it sees; model cards are
    # read in the browser by whoever sees the model; audit readers see every report, the
    # others the reports they asked for (audit extracts and evidence packs: audit readers)
    Case("reports:report_list", expect=allow(*REPORT_REQUESTERS)),
    Case("reports:report_list", "post", allow(*REPORT_REQUESTERS)),
    Case("reports:report_detail", expect=REPORT_SEERS, **ON_REPORT),
    Case("reports:report_progress", expect=REPORT_SEERS, **ON_REPORT),
    Case("reports:report_retry", "post", REPORT_RETRIERS, **ON_REPORT),
    Case("api:report-retry", "post", REPORT_RETRIERS, **ON_REPORT),
    Case("reports:report_download", expect=REPORT_SEERS, **ON_REPORT),
    Case("reports:report_manifest", expect=REPORT_SEERS, **ON_REPORT),
    Case("reports:report_signature", expect=REPORT_SEERS, **ON_REPORT),
    model_case("reports:model_reports"),
    model_case("reports:model_reports", "post", who=REPORT_REQUESTERS),
    model_case("reports:model_card"),
    Case("api:report-list", expect=allow(*REPORT_REQUESTERS)),
    Case("api:report-list", "post", allow(*REPORT_REQUESTERS)),
    Case("api:report-detail", expect=REPORT_SEERS, **ON_REPORT),
    Case("api:report-download", expect=REPORT_SEERS, **ON_REPORT),
    Case("api:report-manifest", expect=REPORT_SEERS, **ON_REPORT),
    Case("api:report-signature", expect=REPORT_SEERS, **ON_REPORT),
    # The public keys that verify signed reports: not secret, open to anyone (auditors and
    # regulators without an account verify packs with them).
    Case("signing-keys", expect=allow(*EVERY_ROLE, public=True, any_user=True)),
    # OpenLineage: pipelines (model owners' tokens, admins) send events; administrators map
    # jobs and write naming rules; mlgov's facet schemas are public, like the spec's own.
    Case("api:openlineage-intake", "post", allow(ADMIN, MO)),
    Case("api:openlineage-intake-without-slash", "post", allow(ADMIN, MO)),
    Case("openlineage:job_list", expect=allow(ADMIN)),
    Case("openlineage:job_detail", expect=allow(ADMIN), obj="lineagejob"),
    Case("openlineage:job_detail", "post", allow(ADMIN), obj="lineagejob"),
    Case("openlineage:rule_list", expect=allow(ADMIN)),
    Case("openlineage:rule_list", "post", allow(ADMIN)),
    Case("openlineage:rule_delete", "post", allow(ADMIN), obj="namingrule"),
    Case(
        "openlineage:facet_schema",
        expect=allow(*EVERY_ROLE, public=True, any_user=True),
        obj="facet",
    ),
    # MLflow sync: administrators configure connections and start syncs; validators and
    # auditors read them. Model owners and the oversight roles see the discovered models;
    # model owners and administrators claim them (business owners do not see them: 404).
    Case("mlflow_sync:connection_list", expect=allow(*MLFLOW_READERS)),
    Case("mlflow_sync:connection_detail", expect=allow(*MLFLOW_READERS), obj="mlflow_connection"),
    Case("mlflow_sync:connection_sync", "post", allow(ADMIN), obj="mlflow_connection"),
    Case("mlflow_sync:run_detail", expect=allow(*MLFLOW_READERS), obj="mlflow_run"),
    Case("mlflow_sync:discovered_list", expect=allow(ADMIN, VAL, MO, AUD, VIEW)),
    Case("mlflow_sync:model_claim", expect={**allow(ADMIN, MO), BO: HIDDEN}, obj="discovered"),
    Case("mlflow_sync:model_claim", "post", {**allow(ADMIN, MO), BO: HIDDEN}, obj="discovered"),
    Case("api:mlflow-connection-sync", "post", allow(ADMIN), obj="mlflow_connection"),
    Case("api:mlflow-sync-detail", expect=allow(*MLFLOW_READERS), obj="mlflow_run"),
    # notifications: each user sees and marks only their own (the one here is the admin's)
    Case("notifications:list", expect=allow(*EVERY_ROLE)),
    Case("notifications:mark_all_read", "post", allow(*EVERY_ROLE)),
    Case(
        "notifications:mark_read",
        "post",
        {**allow(ADMIN), **dict.fromkeys(ROLES[1:], HIDDEN)},
        obj="notification",
    ),
    # SCIM 2.0 provisioning: opened by the identity provider's SCIM credential only; no
    # user's session or API token opens it, whatever the role (tests/provisioning/).
    *(
        Case(name, method, SCIM_ONLY, obj="scim")
        for name, method in (
            ("scim:root", "get"),
            ("scim:search", "post"),
            ("scim:config", "get"),
            ("scim:resource_types", "get"),
            ("scim:resource_type", "get"),
            ("scim:schemas", "get"),
            ("scim:schema", "get"),
            ("scim:users", "get"),
            ("scim:users", "post"),
            ("scim:user_search", "post"),
            ("scim:user", "get"),
            ("scim:user", "put"),
            ("scim:user", "patch"),
            ("scim:user", "delete"),
            ("scim:groups", "get"),
            ("scim:groups", "post"),
            ("scim:group_search", "post"),
            ("scim:group", "get"),
            ("scim:group", "patch"),
            ("scim:group", "delete"),
            ("scim:not_found", "get"),
        )
    ),
]

# Routes that are not views of their own (Django admin's per-model pages sit behind admin:index).
IGNORED_PREFIXES = ("admin:",)


def _route_names(patterns=None, namespace=None):
    for pattern in patterns if patterns is not None else get_resolver().url_patterns:
        if isinstance(pattern, URLResolver):
            ns = pattern.namespace
            full = f"{namespace}:{ns}" if namespace and ns else (ns or namespace)
            yield from _route_names(pattern.url_patterns, full)
        elif isinstance(pattern, URLPattern):
            name = pattern.name
            if name:
                yield f"{namespace}:{name}" if namespace else name
            else:
                yield f"<unnamed {pattern.pattern}>" if not namespace else f"{namespace}:<unnamed>"


def test_every_route_is_in_the_matrix():
    covered = {case.name for case in MATRIX}
    missing = sorted(
        name
        for name in set(_route_names())
        if name not in covered
        and not (name.startswith(IGNORED_PREFIXES) and name != "admin:index")
        and not name.endswith("-root")  # not used: routers are SimpleRouter
    )
    assert not missing, f"Routes missing from the permission matrix: {missing}"


def _make_world(media: Path) -> dict:
    """Personas (as tests/conftest.py makes them), an owned model (model_owner, business_owner
    named), a foreign one and an object of every kind on each, with an API token per user."""
    admin_user = UserFactory(username="ada.admin", roles=[roles.ADMIN], is_staff=True)
    validator = UserFactory(username="val.validator", roles=[roles.VALIDATOR])
    business_owner = UserFactory(username="bea.business", roles=[roles.BUSINESS_OWNER])
    model_owner = UserFactory(username="mo.owner", roles=[roles.MODEL_OWNER])
    other_model_owner = UserFactory(username="oz.otherowner", roles=[roles.MODEL_OWNER])
    auditor = UserFactory(username="aud.auditor", roles=[roles.AUDITOR])
    viewer = UserFactory(username="vic.viewer", roles=[roles.VIEWER])
    outsider = UserFactory(username="out.sider")
    owned_model = RegisteredModelFactory(
        slug="owned-model", name="Owned model", owner=model_owner, business_owner=business_owner
    )
    foreign_model = RegisteredModelFactory(
        slug="foreign-model", name="Foreign model", owner=other_model_owner
    )
    answers = dict.fromkeys(FACTORS, "low")
    objs = {}
    for key, model, owner in (
        ("own", owned_model, model_owner),
        ("foreign", foreign_model, other_model_owner),
    ):
        version = ModelVersionFactory(model=model, version="1.0.0", created_by=owner)
        assessment = services.risk_assessment_submit(
            actor=owner, model=model, answers=answers, eu_ai_act_class="minimal"
        )
        deployment = DeploymentFactory(version=version, created_by=owner)
        objs[key] = {
            "model": model,
            "version": version,
            "assessment": assessment,
            "deployment": deployment,
            "threshold": ThresholdFactory(model=model, created_by=owner),
        }
        objs[key]["driftrun"] = make_drift_run(version, owner)
        objs[key]["batch"] = IngestionBatch.objects.create(
            source="api", file_format="csv", sha256=key[0] * 64, scope_model=model, created_by=owner
        )
        objs[key]["approval"] = approval_services.approval_request_create(
            actor=owner, kind=ApprovalKind.RETIREMENT, subject=model, justification="Replaced."
        )
        objs[key]["incident"] = incident_services.incident_create(
            actor=owner, model=model, title="Scores went flat", severity="sev3"
        )
        objs[key]["report"] = done_report(owner, model=model)
        objs[key]["review"] = Review.objects.create(
            model=model, reviewer=validator, scope="Annual review", created_by=validator
        )
        objs[key]["finding"] = Finding.objects.create(
            model=model,
            title="Calibration drift",
            severity="high",
            description="Over-predicts.",
            owner=owner,
            due_date="2026-01-31",
            created_by=validator,
        )
    lineage_job = LineageJob.objects.create(namespace="airflow-prod", name="nightly.train")
    naming_rule = NamingRule.objects.create(
        job_pattern="credit.*", model=owned_model, created_by=admin_user
    )
    notification = Notification.objects.create(
        recipient=admin_user, event="review.due", text="Review due"
    )
    dataset = DatasetFactory(slug="owned-dataset", owner=model_owner, created_by=model_owner)
    service_user = UserFactory(username="svc.mlflow", roles=[roles.MODEL_OWNER])
    mlflow_connection = MlflowConnection.objects.create(
        name="Registry",
        tracking_url="https://mlflow.example.com",
        business_unit=owned_model.business_unit,
        run_as=service_user,
        created_by=admin_user,
    )
    mlflow_run = SyncRun.objects.create(
        connection=mlflow_connection, trigger="schedule", status="done"
    )
    discovered = services.registered_model_discover(
        actor=service_user,
        slug="discovered-model",
        name="Discovered model",
        source="MLflow (Registry)",
        business_unit=owned_model.business_unit,
    )
    from apps.audit.models import AuditEvent, ChainVerification

    verification = ChainVerification.objects.create(trigger="command", status="done", ok=True)
    users = {
        NOROLE: outsider,
        ADMIN: admin_user,
        VAL: validator,
        BO: business_owner,
        MO: model_owner,
        AUD: auditor,
        VIEW: viewer,
    }
    for user in users.values():
        api_token_key(user)  # made with the world, so every test finds it
    return {
        "media": media,
        "users": users,
        "objs": objs,
        "dataset": dataset,
        "event": AuditEvent.objects.order_by("sequence").first(),
        "verification": verification,
        "notification": notification,
        "lineagejob": lineage_job,
        "namingrule": naming_rule,
        "mlflow_connection": mlflow_connection,
        "mlflow_run": mlflow_run,
        "discovered": discovered,
    }


@pytest.fixture(scope="module")
def shared_world(django_db_setup, django_db_blocker, tmp_path_factory):
    """The world, made once for the module and rolled back after it (tests/shared_rows.py)."""
    media = tmp_path_factory.mktemp("matrix-media")
    with shared_rows(
        django_db_blocker,
        lambda: _make_world(media),
        MEDIA_ROOT=media,
        MLGOV_AUDIT_CHECKPOINT_PATH=media / "audit_checkpoints.jsonl",
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
    ) as world:
        yield world


@pytest.fixture
def world(shared_world, db, settings):
    """The shared world; each test runs in its own savepoint, so its writes are undone."""
    settings.MEDIA_ROOT = shared_world["media"]
    return shared_world


def _kwargs(case: Case, world, which: str) -> dict:
    if case.obj is None:
        return {}
    if case.obj == "scim":
        return SCIM_KWARGS.get(case.name, {})
    o = world["objs"][which]
    api = case.name.startswith("api:")
    slug_key = "model_slug" if api and case.obj in ("version", "assessment") else "slug"
    if case.name in (
        "api:model-version-list",
        "api:model-risk-assessment-list",
        "api:model-metric-list",
    ):
        slug_key = "model_slug"
    if case.obj == "model":
        return {slug_key: o["model"].slug}
    if case.obj == "version":
        return {slug_key: o["model"].slug, "version": o["version"].version}
    if case.obj == "assessment":
        return {slug_key: o["model"].slug, "pk": o["assessment"].pk}
    if case.obj == "threshold":
        pk = o["threshold"].pk
        return {"pk": pk} if api else {"slug": o["model"].slug, "pk": pk}
    if case.obj == "metric":
        return {"model_slug": o["model"].slug, "metric": o["threshold"].metric.name}
    if case.obj == "driftrun":
        pk = o["driftrun"].pk
        return {"pk": pk} if api else {"slug": o["model"].slug, "pk": pk}
    if case.obj == "batch":
        return {"pk": o["batch"].pk}
    if case.obj == "approval":
        return {"pk": o["approval"].pk}
    if case.obj == "incident":
        return {"reference": o["incident"].reference}
    if case.obj == "report":
        return {"pk": o["report"].pk}
    if case.obj in ("review", "finding"):
        return {"pk": o[case.obj].pk}
    if case.obj in ("lineagejob", "namingrule"):
        return {"pk": world[case.obj].pk}
    if case.obj == "facet":
        return {"name": "MlgovJobFacet"}
    if case.obj == "notification":
        return {"pk": world["notification"].pk}
    if case.obj == "deployment":
        return {"pk": o["deployment"].pk}
    if case.obj == "dataset":
        return {"slug": world["dataset"].slug}
    if case.obj == "event":
        return {"pk": world["event"].pk}
    if case.obj == "verification":
        return {"pk": world["verification"].pk}
    if case.obj in ("mlflow_connection", "mlflow_run"):
        return {"pk": world[case.obj].pk}
    if case.obj == "discovered":
        return {"slug": world["discovered"].slug}
    raise AssertionError(case.obj)


def _outcome(response) -> str:
    code = response.status_code
    if code == 401:
        return LOGIN
    if code == 302 and "login" in response.get("Location", ""):
        return LOGIN
    if code == 403:
        return DENIED
    if code == 404:
        return HIDDEN
    if code == 405:
        return f"405 (method {response.request['REQUEST_METHOD']} not allowed)"
    if code >= 500:
        return f"{code} server error"
    return OK


def _visit(client, case: Case, url: str, user) -> str:
    """One request as ``user`` (token auth for the API, a session for pages)."""
    client.logout()
    client.defaults.pop("HTTP_AUTHORIZATION", None)
    api = case.name.startswith("api:")
    if user is not None and api:
        client.defaults["HTTP_AUTHORIZATION"] = f"Token {api_token_key(user)}"
    elif user is not None:
        client.force_login(user)
    send = getattr(client, case.method)
    response = send(url, content_type="application/json") if case.method != "get" else send(url)
    client.defaults.pop("HTTP_AUTHORIZATION", None)
    if case.name.startswith("api") and user is None and response.status_code == 403:
        return LOGIN  # DRF answers 403 instead of 401 when no authenticator challenges
    return _outcome(response)


@pytest.mark.parametrize("case", MATRIX, ids=lambda c: f"{c.method.upper()} {c.name}")
def test_route_answers_each_persona_as_the_rules_say(case, world, client):
    wrong = []
    targets = [("own", case.expect)]
    if case.constrained:
        hidden = {**case.expect, MO: HIDDEN, BO: HIDDEN}
        targets.append(("foreign", hidden))
    for which, expect in targets:
        url = reverse(case.name, kwargs=_kwargs(case, world, which))
        for persona in PERSONAS:
            got = _visit(client, case, url, world["users"].get(persona))
            if got != expect[persona]:
                wrong.append(f"{persona:15} {which:8} expected {expect[persona]:6} got {got}")
    assert not wrong, f"{case.method.upper()} {case.name}:\n" + "\n".join(wrong)
