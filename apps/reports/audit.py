"""How the audit trail links reports to their pages (no query). Registered in
``ReportsConfig.ready``."""

from apps.audit.registry import links_by_pk, register_object_links


def register_audit_links() -> None:
    register_object_links("reports.report", links_by_pk("reports:report_detail"))
