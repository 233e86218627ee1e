"""Reading and verifying the audit trail."""

from __future__ import annotations

from django.db.models import QuerySet

from apps.audit.chain import VerificationResult, verify_events
from apps.audit.models import AuditChainHead, AuditEvent

_CHUNK = 2000


def audit_event_list(*, model_pk: int | None = None) -> QuerySet[AuditEvent]:
    qs = AuditEvent.objects.select_related("actor").order_by("-sequence")
    if model_pk is not None:
        qs = qs.filter(model_ref=model_pk)
    return qs


def chain_head() -> AuditChainHead:
    return AuditChainHead.objects.filter(pk=1).first() or AuditChainHead()


def audit_chain_verify() -> VerificationResult:
    """Recompute every hash in sequence order, streaming in chunks (constant memory)."""
    head = chain_head()
    events = (
        event.as_chain_dict()
        for event in AuditEvent.objects.order_by("sequence").iterator(chunk_size=_CHUNK)
    )
    return verify_events(events, expected_count=head.sequence, expected_head=head.hash)
