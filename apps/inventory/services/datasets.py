"""Datasets: register and edit."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from apps.audit import diff
from apps.audit.models import AuditEvent
from apps.audit.services import audit_record, audited_update
from apps.core import roles
from apps.core.errors import ApplicationError
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

#: Who may own a dataset: the roles that register and edit datasets (``inventory.add_dataset``
#: and, for their own, ``inventory.change_dataset`` in ``apps/inventory/rules.py``), so the
#: owner named can keep its datasheet up to date. Readers (auditors, viewers) and business
#: owners may not own one; the form's picker offers the same people.
DATASET_OWNER_ROLES = (roles.MODEL_OWNER, roles.VALIDATOR, roles.ADMIN)


def _check_owner(owner) -> None:
    """The owner named must be an active user who may keep the datasheet up to date."""
    if owner is None or not roles.has_role(owner, *DATASET_OWNER_ROLES):
        message = (
            f"{owner} cannot own a dataset: choose a model owner, a validator or an "
            "administrator (the people who may keep its datasheet up to date)."
            if owner is not None
            else "Choose the dataset's owner: a model owner, a validator or an administrator."
        )
        raise ApplicationError(message, field_errors={"owner": [message]})


@transaction.atomic
def dataset_create(*, actor, slug: str, **data: Any) -> Dataset:
    require_perm(actor, "inventory.add_dataset")
    reject_unknown_fields(data, DATASET_EDITABLE_FIELDS)
    _not_reserved(slug, field="slug")
    data.setdefault("owner", actor)
    _check_owner(data["owner"])
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
    # A new owner is checked; the current one stays valid (a dataset owned before the rule
    # existed is still editable without reassigning it).
    if "owner" in data and getattr(data["owner"], "pk", None) != dataset.owner_id:
        _check_owner(data["owner"])
    dataset, _ = audited_update(dataset, actor=actor, data=data, fields=DATASET_AUDITED_FIELDS)
    return dataset
