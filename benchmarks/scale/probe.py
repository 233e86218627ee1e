"""Runs inside a served source tree (the current checkout or an old revision's worktree), with
that tree's Python and settings, on the database the server uses:

    <tree python> benchmarks/scale/probe.py <command> <input.json> <output.json>   (cwd: the tree)

Commands:
  discover  the users of each role and every (page or endpoint, role) to measure, as paths,
            on objects in each role's reach (the heavy model's included); run on the new tree
  signin    a session per role (made through Django's session engine: no login form, so the
            login throttle never trips) and an API token per role (mlgov's own token command)
  count     the queries of each (path, role) through Django's test client with
            CaptureQueriesContext, after one unmeasured request (caches warm as on a server)

It imports only Django and mlgov, so the same file works for an old tree: the harness runs it
by absolute path with the tree as the working directory and first entry of ``sys.path``.
"""

from __future__ import annotations

import io
import json
import math
import os
import sys
from pathlib import Path

ROLES = ("validator", "business_owner", "model_owner", "auditor")
VAL, BO, MO, AUD = ROLES
GENERATED_HEAVY_MODEL = "scale-heavy-model"  # generate_scale_data's
TOKEN_NAME = "scale-benchmark"  # noqa: S105 - the name shown in token lists, not a secret


def _setup() -> None:
    tree = Path.cwd()
    here = str(Path(__file__).resolve().parent)
    sys.path[:] = [p for p in sys.path if p != here]
    sys.path.insert(0, str(tree))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mlgov.settings")
    import django

    django.setup()


# --- sign-in ---------------------------------------------------------------------------------


def signin(spec: dict) -> dict:
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import (
        BACKEND_SESSION_KEY,
        HASH_SESSION_KEY,
        SESSION_KEY,
        get_user_model,
    )
    from django.contrib.auth.backends import ModelBackend
    from django.core.management import call_command
    from django.utils.module_loading import import_string

    store = import_module(settings.SESSION_ENGINE).SessionStore
    # The backend a password sign-in records: the tree's ModelBackend (or its subclass).
    backend = next(
        (
            path
            for path in settings.AUTHENTICATION_BACKENDS
            if issubclass(import_string(path), ModelBackend)
        ),
        settings.AUTHENTICATION_BACKENDS[-1],
    )
    User = get_user_model()
    sessions, tokens = {}, {}
    for role, username in spec["users"].items():
        user = User.objects.get(username=username)
        session = store()
        session[SESSION_KEY] = user._meta.pk.value_to_string(user)
        session[BACKEND_SESSION_KEY] = backend
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.set_expiry(spec.get("session_seconds", 6 * 3600))
        session.create()
        sessions[role] = session.session_key
        out = io.StringIO()
        call_command("drf_create_token", username, name=TOKEN_NAME, expires_days=1, stdout=out)
        tokens[role] = out.getvalue().split("Generated token ", 1)[1].split()[0]
    return {"cookie_name": settings.SESSION_COOKIE_NAME, "sessions": sessions, "tokens": tokens}


# --- counting --------------------------------------------------------------------------------


def count(spec: dict) -> list[dict]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    results = []
    clients = {}
    for item in spec["items"]:
        role, api = item["role"], item["api"]
        key = (role, api)
        if key not in clients:
            client = Client(raise_request_exception=False)
            if api:
                client.defaults["HTTP_AUTHORIZATION"] = f"Token {spec['tokens'][role]}"
            else:
                client.cookies[spec["cookie_name"]] = spec["sessions"][role]
            clients[key] = client
        client = clients[key]
        client.get(item["path"])  # warm: first-use caches, as a running server has them
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(item["path"])
        results.append(
            {
                "label": item["label"],
                "role": role,
                "path": item["path"],
                "status": response.status_code,
                "queries": len(ctx.captured_queries),
            }
        )
    return results


# --- discovery -------------------------------------------------------------------------------


def late_page(rows: int, per_page: int) -> int:
    """A page nine tenths of the way through ``rows``."""
    return max(1, math.ceil(rows / per_page) * 9 // 10)


def _matrix_roles() -> dict[str, set[str]] | None:
    """GET route name -> the roles that may reach it, from tests/test_permission_matrix.py."""
    try:
        from tests.test_permission_matrix import MATRIX
    except Exception as exc:  # an old tree, or a tree without its tests
        print(
            f"probe: permission matrix not importable ({exc}); every role is tried", file=sys.stderr
        )
        return None
    allowed: dict[str, set[str]] = {}
    for case in MATRIX:
        if case.method == "get":
            allowed.setdefault(case.name, set()).update(
                role for role in ROLES if case.expect.get(role) == "ok"
            )
    return allowed


def _pick_user(role: str, prefer=()):
    from django.contrib.auth import get_user_model

    users = get_user_model().objects.filter(groups__name=role, is_active=True)
    for candidate in prefer:
        if candidate is not None and users.filter(pk=candidate.pk).exists():
            return candidate
    return users.filter(username=role).first() or users.order_by("pk").first()


def _latest_verification() -> int | None:
    """The newest stored chain verification (trees that verify in the background), if any."""
    try:
        from apps.audit.models import ChainVerification
    except ImportError:
        return None
    return ChainVerification.objects.order_by("-pk").values_list("pk", flat=True).first()


def _heavy_model(slug: str | None):
    from django.db import connection

    from apps.inventory.models import ModelVersion, RegisteredModel

    if slug:
        return RegisteredModel.objects.get(slug=slug)
    generated = RegisteredModel.objects.filter(slug=GENERATED_HEAVY_MODEL).first()
    if generated is not None:
        return generated
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT version_id FROM monitoring_observation GROUP BY version_id "
            "ORDER BY count(*) DESC LIMIT 1"
        )
        row = cursor.fetchone()
    if row is None:
        return RegisteredModel.objects.order_by("pk").first()
    return ModelVersion.objects.get(pk=row[0]).model


def discover(spec: dict) -> dict:
    from django.db.models import Count
    from django.urls import NoReverseMatch, reverse

    from apps.approvals.models import ApprovalRequest
    from apps.audit.models import AuditEvent
    from apps.incidents.models import Incident
    from apps.inventory.models import (
        Dataset,
        Deployment,
        ModelVersion,
        RegisteredModel,
        RiskAssessment,
    )
    from apps.monitoring.models import DriftRun, IngestionBatch, Observation, Threshold
    from apps.reports.models import Report
    from apps.reviews.models import Finding, Review

    heavy = _heavy_model(spec.get("heavy_model"))
    mo = _pick_user(MO, prefer=[heavy.owner])
    bo = _pick_user(BO, prefer=[heavy.business_owner])
    users = {VAL: _pick_user(VAL), BO: bo, MO: mo, AUD: _pick_user(AUD)}
    missing = [role for role, user in users.items() if user is None]
    if missing:
        raise SystemExit(f"probe: no active user holds the role(s) {', '.join(missing)}")

    def scope(role, qs, path="model"):
        """Objects of ``qs`` in the role's reach (model and business owners: their models)."""
        if role == MO:
            return qs.filter(**{f"{path}__owner": mo})
        if role == BO:
            return qs.filter(**{f"{path}__business_owner": bo})
        return qs

    models = RegisteredModel.objects.exclude(pk=heavy.pk)
    normal = (
        models.filter(owner=mo, business_owner=bo)
        .annotate(n=Count("versions"))
        .order_by("-n", "pk")
        .first()
        or models.filter(owner=mo).order_by("pk").first()
        or models.order_by("pk").first()
    )

    def reach_model(role, model):
        if role == MO:
            return model.owner_id == mo.pk
        if role == BO:
            return model.business_owner_id == bo.pk
        return True

    def normal_for(role):
        """The normal model, or one of the role's own when it is outside the role's reach."""
        if reach_model(role, normal):
            return normal
        field = "owner" if role == MO else "business_owner"
        return models.filter(**{field: users[role]}).order_by("pk").first()

    allowed = _matrix_roles()
    targets: list[dict] = []
    covered: set[str] = set()

    def add(label, name, *, roles=ROLES, kwargs=None, query="", api=None, download=None):
        """One (page or endpoint) with, per role, the path on an object in its reach.
        ``kwargs`` is a dict or a function of the role giving the dict (None: skip the role).
        ``download`` ("csv" or "lineage"): a whole download, judged per 1,000 rows."""
        covered.add(name)
        ok = set(roles) if allowed is None or name not in allowed else set(roles) & allowed[name]
        paths = {}
        for role in ROLES:
            if role not in ok:
                continue
            kw = kwargs(role) if callable(kwargs) else (kwargs or {})
            if kw is None:
                continue
            try:
                path = reverse(name, kwargs=kw)
            except NoReverseMatch as exc:
                print(f"probe: {label}: {exc}", file=sys.stderr)
                continue
            paths[role] = path + (f"?{query}" if query else "")
        if paths:
            targets.append(
                {
                    "label": label,
                    "name": name,
                    "api": name.startswith("api:") if api is None else api,
                    "paths": paths,
                    "download": download,
                }
            )

    def first(qs):
        return qs.order_by("-pk").first()

    def obj_kwargs(model_cls, path, key, *, prefer=None, value=lambda o: o.pk):
        """kwargs(role) picking the newest object of ``model_cls`` in the role's reach."""

        def build(role):
            qs = scope(role, model_cls.objects.all(), path)
            obj = (prefer is not None and first(qs.filter(**prefer))) or first(qs)
            if obj is None:
                return None
            return key(obj) if callable(key) else {key: value(obj)}

        return build

    # ---- pages -------------------------------------------------------------------------
    add("dashboard", "dashboard:home")
    per_page = 25
    word = normal.name.split()[0] if normal.name.split() else normal.name[:3]
    add("inventory page 1", "inventory:model_list")
    add("inventory search", "inventory:model_list", query=f"q={word}")
    add("inventory filter tier 1", "inventory:model_list", query="risk_tier=1")
    add(
        "inventory filter business unit",
        "inventory:model_list",
        query=f"business_unit={normal.business_unit.code}",
    )
    add(
        "inventory late page",
        "inventory:model_list",
        query=f"page={max(1, math.ceil(RegisteredModel.objects.count() / per_page) * 9 // 10)}",
        roles=(VAL, AUD),
    )
    for role, field in ((MO, "owner"), (BO, "business_owner")):
        n = RegisteredModel.objects.filter(**{field: users[role]}).count()
        add(
            "inventory late page",
            "inventory:model_list",
            roles=(role,),
            query=f"page={max(1, math.ceil(n / per_page) * 9 // 10)}",
        )
    add("inventory type-ahead", "inventory:model_suggest", query=f"q={word}")
    add("inventory CSV export", "inventory:model_export_csv", download="csv")
    add("model register form", "inventory:model_create", roles=(MO,))

    tabs = [
        ("overview", "inventory:model_detail", ""),
        ("versions", "inventory:model_versions", ""),
        ("lineage", "inventory:model_lineage", ""),
        ("risk", "inventory:model_risk", ""),
        ("history", "inventory:model_history", ""),
        ("monitoring", "monitoring:model_monitoring", ""),
        ("monitoring all", "monitoring:model_monitoring", "range=all"),
        ("thresholds", "monitoring:threshold_list", ""),
        ("drift", "monitoring:drift_list", ""),
        ("incidents", "incidents:model_incidents", ""),
        ("approvals", "approvals:model_approvals", ""),
        ("reviews", "reviews:model_reviews", ""),
        ("reports", "reports:model_reports", ""),
        ("card (HTML)", "reports:model_card", ""),
        ("edit form", "inventory:model_edit", ""),
        ("new version form", "inventory:version_create", ""),
        ("new deployment form", "inventory:deployment_create", ""),
        ("new dependency form", "inventory:dependency_create", ""),
        ("new threshold form", "monitoring:threshold_create", ""),
    ]
    for which, pick in (("normal", normal_for), ("heavy", lambda role: heavy)):
        for tab, name, query in tabs:

            def kw(role, pick=pick):
                model = pick(role)
                return (
                    {"slug": model.slug} if model is not None and reach_model(role, model) else None
                )

            add(f"model {tab} ({which})", name, kwargs=kw, query=query)

    def version_kw(role):
        model = normal_for(role)
        version = model and ModelVersion.objects.filter(model=model).order_by("-pk").first()
        return {"slug": model.slug, "version": version.version} if version else None

    def editable_version_kw(role):
        """A version not yet approved (an approved one is evidence: its edit form redirects)."""
        model = normal_for(role)
        versions = ModelVersion.objects.filter(model=model, approved_at__isnull=True)
        version = model and versions.order_by("-pk").first()
        return {"slug": model.slug, "version": version.version} if version else None

    add("version detail", "inventory:version_detail", kwargs=version_kw)
    add("version edit form", "inventory:version_edit", kwargs=editable_version_kw)
    add("datasets", "inventory:dataset_list")
    add("dataset type-ahead", "inventory:dataset_suggest", query="q=data")
    add("dataset type-ahead, first ones", "inventory:dataset_suggest")
    add("dataset create form", "inventory:dataset_create")
    dataset = Dataset.objects.order_by("-pk").first()
    if dataset:
        add("dataset detail", "inventory:dataset_detail", kwargs={"slug": dataset.slug})
    own_dataset = Dataset.objects.filter(owner=mo).order_by("-pk").first()
    if own_dataset:
        add("dataset edit form", "inventory:dataset_edit", kwargs={"slug": own_dataset.slug})

    events = AuditEvent.objects.count()
    late = max(1, math.ceil(events / per_page) * 9 // 10)
    add("audit log page 1", "audit:event_list")
    add("audit log late page", "audit:event_list", query=f"page={late}")
    add(
        "audit log filtered (type)",
        "audit:event_list",
        query="object_type=inventory.registeredmodel",
    )
    add("audit log filtered (actor)", "audit:event_list", query=f"actor={users[MO].username}")

    add("reviews", "reviews:review_list")
    add("review create form", "reviews:review_create")
    review = obj_kwargs(Review, "model", "pk")
    add("review detail", "reviews:review_detail", kwargs=review)
    add("review edit form", "reviews:review_edit", kwargs=review)
    add("findings", "reviews:finding_list")
    add("findings overdue", "reviews:finding_list", query="overdue=1")
    add("finding create form", "reviews:finding_create")
    finding = obj_kwargs(Finding, "model", "pk")
    add("finding detail", "reviews:finding_detail", kwargs=finding)
    add("finding edit form", "reviews:finding_edit", kwargs=finding)

    add("notifications", "notifications:list")
    add("notifications unread", "notifications:list", query="unread=1")

    add("approvals inbox", "approvals:inbox")
    add("my requests", "approvals:my_requests")
    add("approval policy", "approvals:policy")
    approval = obj_kwargs(ApprovalRequest, "model", "pk", prefer={"status": "pending"})
    add("approval request detail", "approvals:request_detail", kwargs=approval)
    add("approval request compare", "approvals:request_compare", kwargs=approval)

    threshold = obj_kwargs(Threshold, "model", lambda t: {"slug": t.model.slug, "pk": t.pk})
    add("threshold detail", "monitoring:threshold_detail", kwargs=threshold)
    add("threshold edit form", "monitoring:threshold_edit", kwargs=threshold)
    add("ingestion batches", "monitoring:batch_list")
    add("ingestion batch form", "monitoring:batch_create")
    batch = obj_kwargs(IngestionBatch, "scope_model", "pk")
    add("ingestion batch detail", "monitoring:batch_detail", kwargs=batch)
    add("ingestion batch progress", "monitoring:batch_progress", kwargs=batch)
    drift = obj_kwargs(
        DriftRun, "version__model", lambda d: {"slug": d.version.model.slug, "pk": d.pk}
    )
    add("drift run detail", "monitoring:drift_detail", kwargs=drift)
    add("drift run progress", "monitoring:drift_progress", kwargs=drift)

    add("incidents (active)", "incidents:incident_list")
    statuses = "&".join(
        f"status={s}"
        for s in Incident.objects.values_list("status", flat=True).distinct().order_by()
    )
    add("incidents (all statuses)", "incidents:incident_list", query=statuses or "status=open")
    add("incident create form", "incidents:incident_create")
    incident = obj_kwargs(Incident, "model", "reference", value=lambda i: i.reference)
    add("incident detail", "incidents:incident_detail", kwargs=incident)
    add("incident edit form", "incidents:incident_edit", kwargs=incident)

    add("reports", "reports:report_list")

    def report_kw(role):
        qs = Report.objects.all()
        if role in (MO, BO):
            qs = qs.filter(requested_by=users[role])
        report = qs.order_by("-pk").first()
        return {"pk": report.pk} if report else None

    add("report detail", "reports:report_detail", kwargs=report_kw, roles=ROLES)
    add("report progress", "reports:report_progress", kwargs=report_kw, roles=ROLES)

    # Integrations (issue 18): the registry sync's and OpenLineage's lists, for the roles
    # that reach them. The scale data holds no MLflow connection or OpenLineage job, so these
    # measure each list's fixed cost, not its growth.
    add("MLflow discovered models", "mlflow_sync:discovered_list")
    add("MLflow connections", "mlflow_sync:connection_list")
    add("OpenLineage jobs", "openlineage:job_list")
    add("OpenLineage naming rules", "openlineage:rule_list")

    add("API tokens", "accounts:token_list")
    add("password change form", "accounts:password_change")

    # ---- API ---------------------------------------------------------------------------
    add("API models, 100 a page", "api:model-list", query="page_size=100")
    add("API models, search", "api:model-list", query=f"page_size=100&q={word}")
    add("API models, filter tier", "api:model-list", query="page_size=100&risk_tier=1")
    add(
        "API models, filter unit",
        "api:model-list",
        query=f"page_size=100&business_unit={normal.business_unit.code}",
    )
    add(
        "API models, late page",
        "api:model-list",
        roles=(VAL, AUD),
        query=f"page_size=100&page={late_page(RegisteredModel.objects.count(), 100)}",
    )
    for which, pick in (("normal", normal_for), ("heavy", lambda role: heavy)):

        def mkw(role, pick=pick, key="slug"):
            model = pick(role)
            return {key: model.slug} if model is not None and reach_model(role, model) else None

        add(f"API model detail ({which})", "api:model-detail", kwargs=mkw)
        add(f"API model lineage ({which})", "api:model-lineage", kwargs=mkw)
        add(
            f"API model versions ({which})",
            "api:model-version-list",
            kwargs=lambda r, m=mkw: m(r, key="model_slug"),
        )
        add(
            f"API risk assessments ({which})",
            "api:model-risk-assessment-list",
            kwargs=lambda r, m=mkw: m(r, key="model_slug"),
        )
        add(
            f"API model metrics ({which})",
            "api:model-metric-list",
            kwargs=lambda r, m=mkw: m(r, key="model_slug"),
        )

    def version_api_kw(role):
        kw = version_kw(role)
        return kw and {"model_slug": kw["slug"], "version": kw["version"]}

    add("API version detail", "api:model-version-detail", kwargs=version_api_kw)

    def assessment_kw(role):
        model = normal_for(role)
        a = model and RiskAssessment.objects.filter(model=model).order_by("-pk").first()
        return {"model_slug": model.slug, "pk": a.pk} if a else None

    add("API risk assessment detail", "api:model-risk-assessment-detail", kwargs=assessment_kw)
    heavy_metric = (
        Observation.objects.filter(version__model=heavy)
        .values_list("metric__name", flat=True)
        .first()
    )
    if heavy_metric:

        def series_kw(role):
            return (
                {"model_slug": heavy.slug, "metric": heavy_metric}
                if reach_model(role, heavy)
                else None
            )

        add("API one series (heavy, 90 days)", "api:model-metric-detail", kwargs=series_kw)
        add(
            "API observations (heavy, first page)",
            "api:model-metric-observations",
            kwargs=series_kw,
        )
        add(
            "API one series (heavy, all)",
            "api:model-metric-detail",
            kwargs=series_kw,
            query="from=2000-01-01T00:00:00Z",
        )
    add("API datasets", "api:dataset-list")
    if dataset:
        add("API dataset detail", "api:dataset-detail", kwargs={"slug": dataset.slug})
    add("API deployments", "api:deployment-list")
    add(
        "API deployment detail",
        "api:deployment-detail",
        kwargs=obj_kwargs(Deployment, "version__model", "pk"),
    )
    add("API lineage", "api:lineage", download="lineage")
    add("API audit events", "api:audit-event-list")
    add(
        "API audit events, late page",
        "api:audit-event-list",
        query=f"page={max(1, math.ceil(events / 50) * 9 // 10)}",
    )
    add("API audit events, one model", "api:audit-event-list", query=f"model={normal.slug}")
    event = AuditEvent.objects.order_by("-pk").first()
    if event:
        add("API audit event detail", "api:audit-event-detail", kwargs={"pk": event.pk})
    add("API audit verifications", "api:audit-verification-list")
    verification = _latest_verification()
    if verification is not None:
        # GET answers the latest verification, 404 before the first has run.
        add("API audit chain verify", "api:audit-event-verify")
        add("audit verification page", "audit:verification", kwargs={"pk": verification})
        add("API audit verification", "api:audit-verification-detail", kwargs={"pk": verification})
    add("API reviews", "api:review-list")
    add("API review detail", "api:review-detail", kwargs=review)
    add("API findings", "api:finding-list")
    add("API finding detail", "api:finding-detail", kwargs=finding)
    add("API approvals", "api:approval-list")
    add("API approval detail", "api:approval-detail", kwargs=approval)
    add("API thresholds", "api:threshold-list")
    add("API threshold detail", "api:threshold-detail", kwargs=obj_kwargs(Threshold, "model", "pk"))
    add("API metrics", "api:metric-list")
    add("API drift runs", "api:drift-run-list")
    add(
        "API drift run detail",
        "api:drift-run-detail",
        kwargs=obj_kwargs(DriftRun, "version__model", "pk"),
    )
    add("API ingestion batches", "api:ingestion-list")
    add("API ingestion batch detail", "api:ingestion-detail", kwargs=batch)
    add("API incidents", "api:incident-list")
    add("API incident detail", "api:incident-detail", kwargs=incident)
    add("API reports", "api:report-list")
    add("API report detail", "api:report-detail", kwargs=report_kw, roles=ROLES)
    add("API schema", "api-schema", api=False)

    not_measured = sorted(set(allowed or ()) - covered)
    return {
        "users": {role: user.username for role, user in users.items()},
        "heavy_model": heavy.slug,
        "normal_model": normal.slug,
        "targets": targets,
        "not_measured": not_measured,
    }


def main(argv: list[str]) -> int:
    command, source, dest = argv[1:4]
    _setup()
    spec = json.loads(Path(source).read_text())
    result = {"discover": discover, "signin": signin, "count": count}[command](spec)
    Path(dest).write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
