"""How the audit trail links reviews and findings to their pages (no query). Registered in
``ReviewsConfig.ready``."""

from apps.audit.registry import links_by_pk, register_object_links


def register_audit_links() -> None:
    register_object_links("reviews.review", links_by_pk("reviews:review_detail"))
    register_object_links("reviews.finding", links_by_pk("reviews:finding_detail"))
