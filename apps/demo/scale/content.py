"""What a sign-off request freezes, for tens of thousands of requests without a query each.

The kinds about a version (validation sign-off, promotion) and a model (retirement) read the
model's production version, its active deployments and the version's datasets; the engine's
handlers query for them per request. Here they are read from what the generator already holds
(the same values, in the same shape as ``apps.inventory.approvals``), which a test checks
against the handlers: no generated pending request is stale. The other kinds go through the
engine's handlers, with the related rows they read already attached.
"""

from __future__ import annotations

from apps.approvals.choices import ApprovalKind
from apps.approvals.registry import handler_for
from apps.audit.chain import normalise
from apps.inventory.choices import DeploymentStatus, VersionStage

VERSION_KINDS = (ApprovalKind.VALIDATION_SIGNOFF, ApprovalKind.PROMOTION)


def version_content(version, plan) -> dict:
    production = next(
        (v.version for v in plan.versions if v.stage == VersionStage.PRODUCTION), None
    )
    index = plan.versions.index(version)
    links = {(role, ds.pk): ds for role, ds in plan.version_links[index]}
    return {
        "model": plan.model.slug,
        "version": version.version,
        "artifact_uri": version.artifact_uri,
        "artifact_sha256": version.artifact_sha256,
        "code_commit": version.code_commit,
        "hyperparameters": version.hyperparameters,
        "evaluation_metrics": version.evaluation_metrics,
        "datasets": sorted(
            f"{role}:{ds.slug}@{ds.content_hash or ds.version}" for (role, _), ds in links.items()
        ),
        "current_production_version": production,
        "risk_tier": plan.model.risk_tier,
    }


def model_content(plan) -> dict:
    return {
        "model": plan.model.slug,
        "status": plan.model.status,
        "production_versions": sorted(
            v.version for v in plan.versions if v.stage == VersionStage.PRODUCTION
        ),
        "active_deployments": sorted(
            str(d.pk) for d in plan.deployments if d.status == DeploymentStatus.ACTIVE
        ),
    }


def content_and_title(kind: str, subject, plan, users: dict) -> tuple[dict, str]:
    """The frozen content (normalised) and the title of a request of ``kind``."""
    handler = handler_for(kind)
    if kind in VERSION_KINDS:
        return normalise(version_content(subject, plan)), handler.title(subject)
    if kind == ApprovalKind.RETIREMENT:
        return normalise(model_content(plan)), handler.title(subject)
    for name in ("decided_by", "reviewer", "owner"):
        user_id = getattr(subject, f"{name}_id", None)
        if user_id is not None and user_id in users:
            setattr(subject, name, users[user_id])
    return normalise(handler.content(subject)), handler.title(subject)
