"""Browser pages of the inventory. Thin: check a rules permission, call selectors/services.

Objects come from selectors restricted to the user, so anything outside their reach is a
404; a visible object the user may not change is a 403. Services make every decision and
record the audit trail; their refusals are shown on the form.

One module per part: ``models`` (list, CSV export, register, edit, overview, transitions,
history), ``risk``, ``versions``, ``lineage`` (deployments, model-to-model links) and
``datasets``. ``apps/inventory/urls.py`` routes to the modules; the pages and ``csv_safe``
are re-exported here.
"""

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
)
from apps.inventory.views.risk import model_risk, risk_assess, risk_decide
from apps.inventory.views.versions import (
    model_versions,
    version_create,
    version_detail,
    version_edit,
    version_stage,
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
    "risk_assess",
    "risk_decide",
    "version_create",
    "version_detail",
    "version_edit",
    "version_stage",
]
