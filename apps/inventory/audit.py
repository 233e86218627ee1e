"""What the audit trail shows of the inventory: business-unit ids in changes are named, an
event's ``model_ref`` (a registered model's primary key) reads as the model's slug in the API
and its name on the pages, and the inventory's objects link to their pages.

Registered with the audit trail (apps/audit/registry.py) in ``InventoryConfig.ready``.
"""

from __future__ import annotations

from django.urls import reverse

from apps.audit.registry import (
    FieldNames,
    ModelReference,
    ObjectLinks,
    ObjectRef,
    links_by_lookup,
    links_by_model,
    register_field_names,
    register_model_reference,
    register_object_links,
)
from apps.inventory import selectors
from apps.inventory.models import Dataset, ModelVersion, RegisteredModel


def model_labels(pks: set[int]) -> dict[int, tuple[str, str]]:
    """``{pk: (slug, name)}`` of the registered models still there, in one query."""
    rows = RegisteredModel.objects.filter(pk__in=pks).values_list("pk", "slug", "name")
    return {pk: (slug, name) for pk, slug, name in rows}


def version_names(pks: set[int]) -> dict[int, str]:
    """Version strings of the versions with these ids still there, in one query."""
    return dict(ModelVersion.objects.filter(pk__in=pks).values_list("pk", "version"))


def _dataset_urls(pks: list[int]) -> dict[int, str]:
    rows = Dataset.objects.filter(pk__in=pks).values_list("pk", "slug")
    return {pk: reverse("inventory:dataset_detail", kwargs={"slug": slug}) for pk, slug in rows}


def _version_urls(refs: list[ObjectRef]) -> dict[str, str]:
    """One query for the version strings; the model's slug comes with the page."""
    pks = [int(r.object_id) for r in refs if r.object_id.isdigit() and r.model_slug]
    if not pks:
        return {}
    slugs = {r.object_id: r.model_slug for r in refs}
    rows = ModelVersion.objects.filter(pk__in=pks).values_list("pk", "version")
    return {
        str(pk): reverse(
            "inventory:version_detail", kwargs={"slug": slugs[str(pk)], "version": version}
        )
        for pk, version in rows
    }


def register_audit_names() -> None:
    register_field_names(
        "business_unit", FieldNames(names=selectors.business_unit_names, missing="unit")
    )
    register_field_names("version", FieldNames(names=version_names, missing="version"))
    register_model_reference(
        ModelReference(
            slugs=selectors.model_slugs, refs=selectors.model_pks_by_slug, labels=model_labels
        )
    )
    register_object_links("inventory.registeredmodel", links_by_model("inventory:model_detail"))
    register_object_links("inventory.modelversion", ObjectLinks(urls=_version_urls))
    register_object_links("inventory.dataset", links_by_lookup(_dataset_urls))
    register_object_links("inventory.deployment", links_by_model("inventory:model_lineage"))
    register_object_links("inventory.modeldependency", links_by_model("inventory:model_lineage"))
    register_object_links("inventory.riskassessment", links_by_model("inventory:model_risk"))
