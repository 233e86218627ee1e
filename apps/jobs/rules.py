"""Who may look at the job outbox: administrators (operators), read-only."""

import rules

from apps.core.predicates import is_admin

rules.add_perm("jobs.view_job", is_admin)
