"""Who may do what with MLflow connections, their sync runs and discovered models.

Administrators configure connections and start syncs; validators and auditors read the
connections and their runs (what was synced, refused and why). Model owners and the
oversight roles see the models waiting to be claimed; model owners and administrators
claim them (``inventory.claim_registeredmodel``).
"""

from __future__ import annotations

import rules

from apps.core.predicates import (
    is_admin,
    is_auditor,
    is_model_owner_role,
    is_validator,
    sees_everything,
)

readers = is_admin | is_validator | is_auditor

rules.add_perm("mlflow_sync.view_mlflowconnection", readers)
rules.add_perm("mlflow_sync.add_mlflowconnection", is_admin)
rules.add_perm("mlflow_sync.change_mlflowconnection", is_admin)
rules.add_perm("mlflow_sync.delete_mlflowconnection", is_admin)
rules.add_perm("mlflow_sync.sync_mlflowconnection", is_admin)
rules.add_perm("mlflow_sync.view_syncrun", readers)
rules.add_perm("mlflow_sync.view_discovered", sees_everything | is_model_owner_role)
