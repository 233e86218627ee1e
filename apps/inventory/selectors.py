"""Reads of the inventory, always restricted to what the user may see.

``model_visibility_q`` mirrors ``rules.can_see_model`` as a query, so lists and 404s agree
with the object-level rule.
"""

from __future__ import annotations

from django.db.models import CharField, Exists, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Cast
from django.http import Http404

from apps.accounts.models import User
from apps.approvals.choices import ApprovalKind, RequestStatus
from apps.approvals.models import ApprovalRequest
from apps.core import roles
from apps.core.validators import control_character_problem
from apps.inventory.health_facts import with_health_facts
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

NOTHING = Q(pk__in=[])


def model_visibility_q(user) -> Q:
    """Q over RegisteredModel of the models the user sees."""
    user_roles = roles.roles_of(user)
    if user_roles & roles.OVERSIGHT_ROLES:
        return Q()
    accountable = NOTHING
    if roles.MODEL_OWNER in user_roles:
        accountable |= Q(owner=user)
    if roles.BUSINESS_OWNER in user_roles:
        accountable |= Q(business_owner=user)
    if roles.MODEL_OWNER not in user_roles:
        return accountable
    # A model owner also sees the models they develop: the ids of both, as a UNION that each
    # side answers from its index. (An OR with a correlated EXISTS made PostgreSQL scan every
    # model, and every version joined to them: 150 ms a query at 10,000 models.)
    developed = RegisteredModel.developers.through.objects.filter(user_id=user.pk)
    ids = (
        RegisteredModel.objects.filter(accountable)
        .order_by()
        .values("pk")
        .union(developed.order_by().values("registeredmodel_id"), all=True)
    )
    return Q(pk__in=ids)


def visible_through(user, path: str = "model") -> Q:
    """Q over a table pointing at registered models through ``path``: the rows of models the
    user sees. Empty for those who see the whole inventory, so their lists join no model
    table (an IN over every model made PostgreSQL hash all of them for each page)."""
    q = model_visibility_q(user)
    if not q:
        return Q()
    return Q(**{f"{path}__in": RegisteredModel.objects.filter(q).values("pk")})


def model_list(*, user) -> QuerySet[RegisteredModel]:
    return (
        RegisteredModel.objects.filter(model_visibility_q(user))
        .select_related("business_unit", "owner", "business_owner", "validator")
        .order_by("name")
    )


def model_list_rows(*, user) -> QuerySet[RegisteredModel]:
    """The models the user sees by name, joining nothing: for lists that read ``values()``
    rather than model objects (the API list)."""
    return RegisteredModel.objects.filter(model_visibility_q(user)).order_by("name")


SUGGESTION_LIMIT = 20


def model_suggestions(*, user, term: str, limit: int = SUGGESTION_LIMIT) -> list[dict]:
    """At most ``limit`` models the user sees whose name or slug contains ``term``, as
    ``{"slug", "name"}`` by name: the type-ahead of every model chooser. Empty for no term (or
    one with control characters). On PostgreSQL the trigram indexes answer it."""
    term = term.strip()[:200]
    if not term or control_character_problem(term):
        return []
    return list(
        RegisteredModel.objects.filter(model_visibility_q(user))
        .filter(Q(name__icontains=term) | Q(slug__icontains=term))
        .order_by("name")
        .values("slug", "name")[:limit]
    )


def model_filterset(*, user, data=None):
    """The inventory list's filters bound to ``data`` (a QueryDict or None) over the models the
    user sees, owner choices limited likewise, each model with its health facts (set
    ``health`` with ``apps.inventory.health_facts.attach_health``). The list page and the
    register both use it."""
    from apps.inventory.filters import RegisteredModelFilter

    visible = model_list(user=user)
    # Each model's health facts come with its row (apps/inventory/health_facts.py); a count
    # or an export that reads other columns leaves them out of its query.
    filterset = RegisteredModelFilter(data or None, queryset=with_health_facts(visible))
    # One index probe per user (there are far fewer users than models), not a DISTINCT over
    # every visible model's owner.
    owns = visible.order_by().filter(owner=OuterRef("pk"))
    filterset.filters["owner"].queryset = User.objects.filter(Exists(owns)).order_by("username")
    return filterset


def model_get(*, user, slug: str) -> RegisteredModel:
    """The model with this slug, or 404 when it does not exist or the user may not see it."""
    # Developers are not prefetched: the rules read them when a rule needs them (once per
    # model object, apps/inventory/rules.py), so a user whose role decides costs no query.
    # Its health facts too, for the banner every tab of its page shows (a healthy model's
    # banner then costs no query).
    model = (
        with_health_facts(model_list(user=user))
        .select_related("risk_assessed_by", "created_by")
        .filter(slug=slug)
        .first()
    )
    if model is None:
        raise Http404("No such model.")
    return model


def version_list(*, user, model: RegisteredModel | None = None) -> QuerySet[ModelVersion]:
    qs = ModelVersion.objects.filter(model__in=model_list(user=user).values("pk"))
    if model is not None:
        qs = qs.filter(model=model)
    return qs.select_related("model", "created_by", "approved_by").prefetch_related(
        Prefetch("dataset_links", queryset=VersionDataset.objects.select_related("dataset"))
    )


def version_dataset_links(*, user, model: RegisteredModel) -> QuerySet[VersionDataset]:
    """The model's version-dataset links with their version and dataset, newest version
    first: the Lineage tab's table in one query (not the versions, then their links)."""
    return (
        VersionDataset.objects.filter(visible_through(user, "version__model"), version__model=model)
        .select_related("version", "dataset")
        .order_by("-version__created_at", "-version_id", "pk")
    )


def version_get(*, user, model: RegisteredModel, version: str) -> ModelVersion:
    obj = version_list(user=user, model=model).filter(version=version).first()
    if obj is None:
        raise Http404("No such version.")
    return obj


def dataset_list(*, user) -> QuerySet[Dataset]:
    if not roles.roles_of(user):
        return Dataset.objects.none()
    return Dataset.objects.select_related("owner").order_by("name")


def dataset_suggestions(*, user, term: str, limit: int = SUGGESTION_LIMIT) -> list[dict]:
    """At most ``limit`` datasets the user sees whose name, slug or version contains ``term``
    (the first ones by name for no term), as ``{"value": id, "label"}``: the type-ahead of the
    dataset choosers, so a form never lists every dataset."""
    term = term.strip()[:200]
    if control_character_problem(term):
        return []
    rows = dataset_list(user=user).select_related(None)
    if term:
        rows = rows.filter(
            Q(name__icontains=term) | Q(slug__icontains=term) | Q(version__icontains=term)
        )
    return [
        {"value": row.pk, "label": str(row)} for row in rows.only("pk", "name", "version")[:limit]
    ]


def dataset_get(*, user, slug: str) -> Dataset:
    obj = dataset_list(user=user).filter(slug=slug).first()
    if obj is None:
        raise Http404("No such dataset.")
    return obj


def dataset_usage(*, user, dataset: Dataset) -> QuerySet[VersionDataset]:
    """Versions (visible to the user) trained or evaluated on a dataset."""
    visible = model_list(user=user).values("pk")
    return (
        VersionDataset.objects.filter(dataset=dataset, version__model__in=visible)
        .select_related("version", "version__model")
        .order_by("version__model__name", "version__version")
    )


def deployment_list(*, user, model: RegisteredModel | None = None) -> QuerySet[Deployment]:
    qs = Deployment.objects.filter(version__model__in=model_list(user=user).values("pk"))
    if model is not None:
        qs = qs.filter(version__model=model)
    return qs.select_related("version", "version__model")


def dependency_list(*, user, model: RegisteredModel | None = None) -> QuerySet[ModelDependency]:
    visible = model_list(user=user).values("pk")
    qs = ModelDependency.objects.filter(upstream__in=visible, downstream__in=visible)
    if model is not None:
        qs = qs.filter(Q(upstream=model) | Q(downstream=model))
    return qs.select_related("upstream", "downstream")


def risk_assessment_list(*, model: RegisteredModel) -> QuerySet[RiskAssessment]:
    """A model's assessments, newest first, each annotated with ``approval_request_id`` (its
    latest risk-tier-change request) and ``approval_request_status``."""
    latest = ApprovalRequest.objects.filter(
        kind=ApprovalKind.RISK_TIER_CHANGE,
        subject_type="inventory.riskassessment",
        subject_id=Cast(OuterRef("pk"), CharField()),
    ).order_by("-requested_at", "-pk")
    return (
        model.risk_assessments.select_related("assessed_by", "decided_by", "approved_by")
        .annotate(
            approval_request_id=Subquery(latest.values("pk")[:1]),
            approval_request_status=Subquery(latest.values("status")[:1]),
        )
        .order_by("-assessed_at")
    )


def model_lineage(*, user, model: RegisteredModel) -> dict:
    """Graph of one model: datasets → versions → deployments, and model → model feeds.

    Returns ``{"nodes": [...], "edges": [...]}`` with stable string ids such as
    ``dataset:<slug>``, ``version:<model-slug>@<version>``, ``deployment:<id>``,
    ``model:<slug>``. Models that feed or are fed by this one appear as model nodes.
    """
    return _lineage_graph(user=user, model=model)


def inventory_lineage(*, user, after: str | None = None, limit: int | None = None) -> dict:
    """Graph of the whole inventory the user may see, in the shape of ``model_lineage``.

    With ``limit``, one page of it: the first ``limit`` visible models by slug after the slug
    ``after``, their versions, datasets and deployments and the feeds that touch them, plus
    ``"next"``, the slug to ask for the next page after (None on the last page). A constant
    number of queries whatever the inventory's size.
    """
    if limit is None:
        return _lineage_graph(user=user, model=None)
    page = model_list_rows(user=user).order_by("slug")
    if after:
        page = page.filter(slug__gt=after)
    rows = list(page.values_list("pk", "slug", "name")[: limit + 1])
    graph = _lineage_graph(user=user, model=None, page=rows[:limit])
    graph["next"] = rows[limit - 1][1] if len(rows) > limit else None
    return graph


def model_lineage_tab(*, user, model: RegisteredModel) -> dict:
    """The Lineage tab in four queries: the model's versions, its version-dataset links
    (``dataset_links``: (version, link) pairs, newest version first), its ``deployments`` and
    the feeds touching it (``dependencies``), read once as objects for the tab's tables and
    drawn as the ``graph`` ``model_lineage`` answers."""
    versions = (
        ModelVersion.objects.filter(visible_through(user), model=model)
        .order_by("-created_at", "-pk")
        .values_list("pk", "version", "stage", "artifact_sha256")
    )
    links = list(version_dataset_links(user=user, model=model))
    deployments = list(deployment_list(user=user, model=model).select_related("created_by"))
    dependencies = list(dependency_list(user=user, model=model))
    by_version: dict[int, list[tuple]] = {}
    for link in links:
        ds = link.dataset
        by_version.setdefault(link.version_id, []).append(
            (link.version_id, link.role, ds.slug, ds.name, ds.version, ds.content_hash)
        )
    graph = _graph(
        models=[(model.slug, model.name)],
        versions=((*row, model.slug, model.name) for row in versions),
        links=by_version,
        deployments=(
            (d.pk, d.environment, d.endpoint, d.status, d.consumers, d.version.version, model.slug)
            for d in deployments
        ),
        dependencies=(
            (d.upstream.slug, d.upstream.name, d.downstream.slug, d.downstream.name, d.kind)
            for d in dependencies
        ),
    )
    return {
        "graph": graph,
        "dataset_links": [(link.version, link) for link in links],
        "deployments": deployments,
        "dependencies": dependencies,
    }


def _lineage_graph(*, user, model: RegisteredModel | None, page: list[tuple] | None = None) -> dict:
    """The graph from flat rows (``values_list``, no model instances): one query per kind of
    node or edge (models, versions, dataset links, deployments, dependencies), one pass over
    each. At 10,000 models building instances cost ~40 s; rows cost what the graph returns."""
    visible = visible_through(user)
    if model is not None:
        models = [(model.slug, model.name)]
        versions = ModelVersion.objects.filter(visible, model=model)
    elif page is not None:
        models = [(slug, name) for _, slug, name in page]
        versions = ModelVersion.objects.filter(visible, model_id__in=[r[0] for r in page])
    else:
        models = model_list_rows(user=user).values_list("slug", "name")
        versions = ModelVersion.objects.filter(visible)
    links: dict[int, list[tuple]] = {}
    for row in (
        VersionDataset.objects.filter(version__in=versions.order_by().values("pk"))
        .order_by()  # per version in any order, as the prefetch read them: no sort to disk
        .values_list(
            "version_id",
            "role",
            "dataset__slug",
            "dataset__name",
            "dataset__version",
            "dataset__content_hash",
        )
    ):
        links.setdefault(row[0], []).append(row)
    # The default order (model name, newest first), made total so ties read the same each time.
    versions = versions.order_by("model__name", "model_id", "-created_at", "-pk")
    deployments = Deployment.objects.filter(visible_through(user, "version__model"))
    if model is not None:
        deployments = deployments.filter(version__model=model)
    elif page is not None:
        deployments = deployments.filter(version__model_id__in=[r[0] for r in page])
    dependencies = dependency_list(user=user, model=model)
    if page is not None:
        pks = [r[0] for r in page]
        dependencies = dependencies.filter(Q(upstream_id__in=pks) | Q(downstream_id__in=pks))
    return _graph(
        models=models,
        versions=versions.values_list(
            "pk", "version", "stage", "artifact_sha256", "model__slug", "model__name"
        ),
        links=links,
        deployments=deployments.values_list(
            "pk",
            "environment",
            "endpoint",
            "status",
            "consumers",
            "version__version",
            "version__model__slug",
        ),
        dependencies=dependencies.values_list(
            "upstream__slug", "upstream__name", "downstream__slug", "downstream__name", "kind"
        ),
    )


def _graph(*, models, versions, links, deployments, dependencies) -> dict:
    """The lineage graph from flat rows, one pass over each: ``models`` (slug, name);
    ``versions`` (pk, version, stage, artifact hash, model slug, model name) in display order;
    ``links``, per version pk, (version pk, role, dataset slug, name, version, content hash);
    ``deployments`` (pk, environment, endpoint, status, consumers, version, model slug);
    ``dependencies`` (upstream slug, name, downstream slug, name, kind)."""
    nodes: dict[str, dict] = {}
    edges: list[dict] = []

    def model_node(slug: str, name: str) -> str:
        node_id = f"model:{slug}"
        if node_id not in nodes:
            nodes[node_id] = {"id": node_id, "type": "model", "label": name, "slug": slug}
        return node_id

    for slug, name in models:
        model_node(slug, name)
    for pk, version, stage, sha, slug, name in versions:
        vid = f"version:{slug}@{version}"
        nodes[vid] = {
            "id": vid,
            "type": "version",
            "label": version,
            "stage": stage,
            "artifact_sha256": sha,
        }
        edges.append({"source": model_node(slug, name), "target": vid, "type": "has_version"})
        for _, role, ds_slug, ds_name, ds_version, ds_hash in links.get(pk, ()):
            did = f"dataset:{ds_slug}"
            if did not in nodes:
                nodes[did] = {
                    "id": did,
                    "type": "dataset",
                    "label": f"{ds_name} {ds_version}".strip(),
                    "slug": ds_slug,
                    "content_hash": ds_hash,
                }
            edges.append({"source": did, "target": vid, "type": role})
    environments = dict(Deployment._meta.get_field("environment").flatchoices)
    for pk, environment, endpoint, status, consumers, version, slug in deployments:
        nid = f"deployment:{pk}"
        nodes[nid] = {
            "id": nid,
            "type": "deployment",
            "label": f"{environments.get(environment, environment)} {endpoint}".strip(),
            "environment": environment,
            "status": status,
            "consumers": consumers,
        }
        edges.append({"source": f"version:{slug}@{version}", "target": nid, "type": "deployed_as"})
    for up_slug, up_name, down_slug, down_name, kind in dependencies:
        edges.append(
            {
                "source": model_node(up_slug, up_name),
                "target": model_node(down_slug, down_name),
                "type": kind,
            }
        )
    return {"nodes": list(nodes.values()), "edges": edges}


def risk_tier_request_pending(assessment: RiskAssessment) -> bool:
    """Whether the assessment's proposed tier is waiting for approval."""
    return ApprovalRequest.objects.filter(
        kind=ApprovalKind.RISK_TIER_CHANGE,
        subject_type=assessment._meta.label_lower,
        subject_id=str(assessment.pk),
        status=RequestStatus.PENDING,
    ).exists()


def model_feeds(*, start: int, goal: int) -> bool:
    """Whether ``goal`` is downstream of ``start`` (breadth-first over feed edges)."""
    seen, frontier = {start}, {start}
    while frontier:
        nxt = set(
            ModelDependency.objects.filter(upstream_id__in=frontier).values_list(
                "downstream_id", flat=True
            )
        )
        if goal in nxt:
            return True
        frontier = nxt - seen
        seen |= nxt
    return False


# --- what the audit trail names (registered in apps/inventory/audit.py) -----------------


def business_unit_names(ids: set[int]) -> dict[int, str]:
    """Names of the business units with these ids that still exist, in one query."""
    return {u.pk: u.name for u in BusinessUnit.objects.filter(pk__in=ids)}


def model_slugs(pks: set[int]) -> dict[int, str]:
    """Slugs of the registered models with these primary keys that still exist, in one query."""
    return dict(RegisteredModel.objects.filter(pk__in=pks).values_list("pk", "slug"))


def model_pks_by_slug(slug: str) -> QuerySet[RegisteredModel]:
    """The primary key of the model with this slug as a query (none if there is no such model),
    for use inside another query."""
    return RegisteredModel.objects.filter(slug=slug).values("pk")


# --- people who may act on a model ---------------------------------------------------------

ACTING_ROLES = (roles.ADMIN, roles.VALIDATOR, roles.MODEL_OWNER, roles.BUSINESS_OWNER)


def people_who_may_act(
    *, model: RegisteredModel | None, acting_roles: tuple[str, ...] = ACTING_ROLES
) -> QuerySet[User]:
    """Active people a picker offers for work on ``model`` (an incident's assignee, a
    finding's owner): administrators and validators, and the model's own team in their
    role: its owner and developers (model owners), its named business owner. Never auditors
    or viewers (they read only), nor the owners of other models. ``acting_roles`` narrows
    who counts; without a model (not chosen yet) every holder of those roles is offered and
    the form checks the choice once the model is known. One query."""
    oversight = [r for r in acting_roles if r in (roles.ADMIN, roles.VALIDATOR)]
    who = Q(groups__name__in=oversight)
    if roles.MODEL_OWNER in acting_roles:
        team = Q() if model is None else Q(pk=model.owner_id) | Q(developed_models=model)
        who |= Q(groups__name=roles.MODEL_OWNER) & team
    if roles.BUSINESS_OWNER in acting_roles:
        named = Q() if model is None else Q(pk=model.business_owner_id)
        who |= Q(groups__name=roles.BUSINESS_OWNER) & named
    return (
        User.objects.filter(who, is_active=True)
        .distinct()
        .order_by("first_name", "last_name", "username")
    )
