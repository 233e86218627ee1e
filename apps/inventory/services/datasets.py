"""Datasets: register and edit."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from apps.audit import diff
from apps.audit.services import audit_record
from apps.core.services import reject_unknown_fields, require_perm, validate_instance
from apps.inventory.models import Dataset
from apps.inventory.services._common import _not_reserved, _save_unique

DATASET_EDITABLE_FIELDS = (
    "name",
    "description",
    "uri",
    "version",
    "content_hash",
    "owner",
    "contains_personal_data",
    "motivation",
    "composition",
    "collection_process",
    "preprocessing",
    "known_gaps",
)
DATASET_AUDITED_FIELDS = ("slug", *DATASET_EDITABLE_FIELDS)


@transaction.atomic
def dataset_create(*, actor, slug: str, **data: Any) -> Dataset:
    require_perm(actor, "inventory.add_dataset")
    reject_unknown_fields(data, DATASET_EDITABLE_FIELDS)
    _not_reserved(slug, field="slug")
    data.setdefault("owner", actor)
    obj = Dataset(slug=slug, created_by=actor, **data)
    validate_instance(obj)
    _save_unique(
        obj, duplicate_field="slug", message=f"A dataset with slug {slug!r} already exists."
    )
    audit_record(
        actor=actor,
        action="create",
        obj=obj,
        changes=diff.created(diff.snapshot(obj, DATASET_AUDITED_FIELDS)),
    )
    return obj


@transaction.atomic
def dataset_update(*, actor, dataset: Dataset, **data: Any) -> Dataset:
    require_perm(actor, "inventory.change_dataset", dataset)
    reject_unknown_fields(data, DATASET_EDITABLE_FIELDS)
    dataset = Dataset.objects.select_for_update(of=("self",)).get(pk=dataset.pk)
    before = diff.snapshot(dataset, DATASET_AUDITED_FIELDS)
    for name, value in data.items():
        setattr(dataset, name, value)
    validate_instance(dataset)
    dataset.save()
    changes = diff.diff(before, diff.snapshot(dataset, DATASET_AUDITED_FIELDS))
    if changes:
        audit_record(actor=actor, action="update", obj=dataset, changes=changes)
    return dataset
