"""How the audit trail links thresholds (under their model) and ingestion batches to their
pages (no query). Registered in ``MonitoringConfig.ready``."""

from apps.audit.registry import links_by_model, links_by_pk, register_object_links


def register_audit_links() -> None:
    register_object_links(
        "monitoring.threshold", links_by_model("monitoring:threshold_detail", with_pk=True)
    )
    register_object_links("monitoring.ingestionbatch", links_by_pk("monitoring:batch_detail"))
