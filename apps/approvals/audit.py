"""How the audit trail links approval requests to their pages (no query). Registered in
``ApprovalsConfig.ready``."""

from apps.audit.registry import links_by_pk, register_object_links


def register_audit_links() -> None:
    register_object_links("approvals.approvalrequest", links_by_pk("approvals:request_detail"))
