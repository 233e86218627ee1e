"""Browser pages of the inventory. Thin: check a rules permission, call selectors/services.

Objects come from selectors restricted to the user, so anything outside their reach is a
404; a visible object the user may not change is a 403. Services make every decision and
record the audit trail; their refusals are shown on the form.

One module per part: ``models`` (list, CSV export, register, edit, overview, transitions,
history), ``risk``, ``versions``, ``lineage`` (deployments, model-to-model links) and
``datasets``. ``apps/inventory/urls.py`` routes to the modules; the pages and ``csv_safe``
are re-exported here.
"""

from apps.accounts import signatures
from apps.inventory import services
from apps.inventory.views.datasets import (
    dataset_create,
    dataset_detail,
    dataset_edit,
    dataset_list,
    dataset_suggest,
)
from apps.inventory.views.lineage import dependency_create, deployment_create, model_lineage
from apps.inventory.views.models import (
    csv_safe,
    model_create,
    model_detail,
    model_edit,
    model_export_csv,
    model_history,
    model_list,
    model_suggest,
    model_transition,
    model_transition_signed,
)
from apps.inventory.views.risk import model_risk, risk_assess, risk_decide
from apps.inventory.views.versions import (
    model_versions,
    version_create,
    version_detail,
    version_edit,
    version_stage,
    version_stage_signed,
)

__all__ = [
    "csv_safe",
    "dataset_create",
    "dataset_detail",
    "dataset_edit",
    "dataset_list",
    "dataset_suggest",
    "dependency_create",
    "deployment_create",
    "model_create",
    "model_detail",
    "model_edit",
    "model_export_csv",
    "model_history",
    "model_lineage",
    "model_list",
    "model_risk",
    "model_suggest",
    "model_transition",
    "model_versions",
    "register_signature_completions",
    "risk_assess",
    "risk_decide",
    "version_create",
    "version_detail",
    "version_edit",
    "version_stage",
]


def register_signature_completions() -> None:
    """What makes a move signed at the identity provider when it answers
    (``AppConfig.ready``): taking a version out of production, a signed lifecycle move."""
    signatures.register_completion(services.STAGE_SIGNATURE_PURPOSE, version_stage_signed)
    signatures.register_completion(services.TRANSITION_SIGNATURE_PURPOSE, model_transition_signed)
