"""Who may generate which report, read the HTML model card, and see which report records.

- Model card and a model's lineage report: whoever sees the model, except viewers (a viewer
  reads the model card in the browser only).
- The inventory register and the inventory lineage: every role except viewer; the content is
  filtered to the models the requester sees.
- Audit extracts and evidence packs: the roles that read the audit log (admin, validator,
  auditor).
- Report records: audit readers see every report; everyone else the reports they asked for
  (about a model they still see). Viewers have no reports page.
"""

from __future__ import annotations

import rules

from apps.core.predicates import (
    has_any_role,
    is_admin,
    is_auditor,
    is_business_owner_role,
    is_model_owner_role,
    is_validator,
    reads_audit_log,
)
from apps.inventory.rules import can_see_model, no_object

#: Every role but viewer asks for reports.
requests_reports = (
    is_admin | is_validator | is_auditor | is_business_owner_role | is_model_owner_role
)


@rules.predicate
def requested_report_in_reach(user, report) -> bool:
    """The user asked for this report, and still sees the model it is about (if any)."""
    if report is None or report.requested_by_id != user.pk:
        return False
    return report.model_id is None or can_see_model.test(user, report.model)


rules.add_perm("reports.add_report", requests_reports)
rules.add_perm(
    "reports.view_report",
    requests_reports & (no_object | reads_audit_log | requested_report_in_reach),
)
rules.add_perm("reports.generate_model_report", requests_reports & can_see_model)
rules.add_perm("reports.generate_inventory_report", requests_reports)
rules.add_perm("reports.generate_audit_report", reads_audit_log & can_see_model)
rules.add_perm("reports.view_model_card", has_any_role & can_see_model)
rules.add_perm("reports.view_model_reports", has_any_role & can_see_model)
# A failed or stalled report is asked for again by whoever asked for it (or an administrator).
rules.add_perm("reports.retry_report", requests_reports & (is_admin | requested_report_in_reach))
rules.add_perm("reports.change_report", rules.always_deny)
rules.add_perm("reports.delete_report", rules.always_deny)
