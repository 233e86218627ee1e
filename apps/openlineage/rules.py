"""Who may send OpenLineage events and who maps jobs to models.

Sending events is for the roles that record versions and their data (model owners, through a
pipeline's token, and administrators); each event is then applied only to a model its sender
may register versions of. Mapping jobs and writing naming rules is an administrator's task.
"""

from __future__ import annotations

import rules

from apps.core.predicates import is_admin, is_model_owner_role

rules.add_perm("openlineage.send_events", is_admin | is_model_owner_role)
rules.add_perm("openlineage.view_lineagejob", is_admin)
rules.add_perm("openlineage.map_lineagejob", is_admin)
rules.add_perm("openlineage.view_namingrule", is_admin)
rules.add_perm("openlineage.add_namingrule", is_admin)
rules.add_perm("openlineage.delete_namingrule", is_admin)
