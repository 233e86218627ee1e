"""Lineage beyond datasets: where versions are deployed, and which models feed which."""

from __future__ import annotations

from django.db import transaction

from apps.audit import diff
from apps.audit.models import AuditEvent
from apps.audit.services import audit_record
from apps.core import clock
from apps.core.errors import ApplicationError
from apps.core.services import require_perm, validate_instance
from apps.inventory import selectors
from apps.inventory.choices import DeploymentEnvironment, EUAIActClass
from apps.inventory.models import Deployment, ModelDependency, ModelVersion, RegisteredModel
from apps.inventory.services._common import _save_unique

DEPLOYMENT_AUDITED_FIELDS = (
    "version",
    "environment",
    "endpoint",
    "consumers",
    "status",
    "deployed_at",
)


@transaction.atomic
def deployment_create(
    *,
    actor,
    version: ModelVersion,
    environment: str,
    endpoint: str = "",
    consumers: str = "",
    deployed_at=None,
) -> Deployment:
    require_perm(actor, "inventory.add_deployment", version)
    if (
        environment == DeploymentEnvironment.PRODUCTION
        and version.model.eu_ai_act_class == EUAIActClass.PROHIBITED
    ):
        message = "A model classed as an EU prohibited practice cannot be deployed to production."
        raise ApplicationError(message, field_errors={"environment": [message]})
    obj = Deployment(
        version=version,
        environment=environment,
        endpoint=endpoint,
        consumers=consumers,
        deployed_at=deployed_at or clock.now(),
        created_by=actor,
    )
    validate_instance(obj)
    obj.save()
    audit_record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        obj=obj,
        model_ref=version.model_id,
        changes=diff.created(diff.snapshot(obj, DEPLOYMENT_AUDITED_FIELDS)),
    )
    return obj


@transaction.atomic
def model_dependency_create(
    *, actor, upstream: RegisteredModel, downstream: RegisteredModel, description: str = ""
) -> ModelDependency:
    """Record that ``upstream``'s output feeds ``downstream``; refuses cycles."""
    require_perm(actor, "inventory.add_modeldependency", downstream)
    if upstream.pk == downstream.pk:
        raise ApplicationError(
            "A model cannot feed itself.", field_errors={"upstream": ["Same model."]}
        )
    if selectors.model_feeds(start=downstream.pk, goal=upstream.pk):
        raise ApplicationError(
            f"{downstream} already feeds {upstream} (directly or indirectly); "
            "this link would create a cycle.",
            field_errors={"upstream": ["Would create a cycle."]},
        )
    obj = ModelDependency(
        upstream=upstream, downstream=downstream, description=description, created_by=actor
    )
    _save_unique(obj, duplicate_field="upstream", message=f"{upstream} already feeds {downstream}.")
    changes = diff.created(
        {
            "upstream": upstream.slug,
            "downstream": downstream.slug,
            "kind": obj.kind,
            "description": obj.description,
        }
    )
    for ref in {upstream.pk, downstream.pk}:
        audit_record(
            actor=actor, action=AuditEvent.Action.CREATE, obj=obj, model_ref=ref, changes=changes
        )
    return obj


@transaction.atomic
def model_dependency_delete(*, actor, dependency: ModelDependency) -> None:
    """Remove a model-to-model feed link, recorded on both models' histories."""
    require_perm(actor, "inventory.delete_modeldependency", dependency)
    changes = diff.deleted(
        {
            "upstream": dependency.upstream.slug,
            "downstream": dependency.downstream.slug,
            "kind": dependency.kind,
            "description": dependency.description,
        }
    )
    refs = {dependency.upstream_id, dependency.downstream_id}
    label, pk = str(dependency), dependency.pk
    dependency.delete()
    for ref in sorted(refs):
        audit_record(
            actor=actor,
            action=AuditEvent.Action.DELETE,
            object_type="inventory.modeldependency",
            object_id=str(pk),
            object_repr=label,
            model_ref=ref,
            changes=changes,
        )
