"""Datasets: register and edit."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from apps.audit import diff
from apps.audit.models import AuditEvent
from apps.audit.services import audit_record, audited_update
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
        action=AuditEvent.Action.CREATE,
        obj=obj,
        changes=diff.created(diff.snapshot(obj, DATASET_AUDITED_FIELDS)),
    )
    return obj


@transaction.atomic
def dataset_update(*, actor, dataset: Dataset, **data: Any) -> Dataset:
    require_perm(actor, "inventory.change_dataset", dataset)
    reject_unknown_fields(data, DATASET_EDITABLE_FIELDS)
    dataset, _ = audited_update(dataset, actor=actor, data=data, fields=DATASET_AUDITED_FIELDS)
    return dataset
