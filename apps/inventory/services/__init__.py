"""Every write to the inventory. Keyword-only, atomic, audited in the same transaction.

One module per part of the inventory: ``registered_models`` (register, edit, lifecycle,
delete, review date), ``risk_assessments``, ``versions`` (register, edit, stage, lock,
promote), ``datasets``, ``lineage`` (deployments, model-to-model links) and
``business_units``. Callers import the names re-exported here.
"""

from apps.inventory.services._common import RESERVED_NAMES
from apps.inventory.services.business_units import (
    business_unit_create,
    business_unit_update,
)
from apps.inventory.services.datasets import (
    DATASET_AUDITED_FIELDS,
    DATASET_EDITABLE_FIELDS,
    DATASET_OWNER_ROLES,
    dataset_create,
    dataset_update,
)
from apps.inventory.services.lineage import (
    DEPLOYMENT_AUDITED_FIELDS,
    deployment_create,
    model_dependency_create,
    model_dependency_delete,
)
from apps.inventory.services.registered_models import (
    GOVERNED_TRANSITIONS,
    MODEL_AUDITED_FIELDS,
    MODEL_EDITABLE_FIELDS,
    MODEL_GOVERNED_FIELDS,
    MODEL_REASSIGN_FIELDS,
    TRANSITION_SIGNATURE_PURPOSE,
    apply_transition,
    model_set_next_review,
    registered_model_claim,
    registered_model_create,
    registered_model_delete,
    registered_model_discover,
    registered_model_transition,
    registered_model_transition_check,
    registered_model_update,
    transition_signature,
)
from apps.inventory.services.risk_assessments import (
    risk_assessment_apply,
    risk_assessment_close,
    risk_assessment_decide,
    risk_assessment_submit,
)
from apps.inventory.services.versions import (
    STAGE_SIGNATURE_PURPOSE,
    VERSION_AUDITED_FIELDS,
    VERSION_EDITABLE_FIELDS,
    NewVersion,
    model_version_register,
    model_version_set_stage,
    model_version_stage_check,
    model_version_update,
    model_versions_register_many,
    promote_version,
    stage_signature,
    version_lock,
)

__all__ = [
    "DATASET_AUDITED_FIELDS",
    "DATASET_EDITABLE_FIELDS",
    "DATASET_OWNER_ROLES",
    "DEPLOYMENT_AUDITED_FIELDS",
    "GOVERNED_TRANSITIONS",
    "MODEL_AUDITED_FIELDS",
    "MODEL_EDITABLE_FIELDS",
    "MODEL_GOVERNED_FIELDS",
    "MODEL_REASSIGN_FIELDS",
    "RESERVED_NAMES",
    "STAGE_SIGNATURE_PURPOSE",
    "TRANSITION_SIGNATURE_PURPOSE",
    "VERSION_AUDITED_FIELDS",
    "VERSION_EDITABLE_FIELDS",
    "NewVersion",
    "apply_transition",
    "business_unit_create",
    "business_unit_update",
    "dataset_create",
    "dataset_update",
    "deployment_create",
    "model_dependency_create",
    "model_dependency_delete",
    "model_set_next_review",
    "model_version_register",
    "model_version_set_stage",
    "model_version_stage_check",
    "model_version_update",
    "model_versions_register_many",
    "promote_version",
    "registered_model_claim",
    "registered_model_create",
    "registered_model_delete",
    "registered_model_discover",
    "registered_model_transition",
    "registered_model_transition_check",
    "registered_model_update",
    "risk_assessment_apply",
    "risk_assessment_close",
    "risk_assessment_decide",
    "risk_assessment_submit",
    "stage_signature",
    "transition_signature",
    "version_lock",
]
