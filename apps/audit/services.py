"""Writing to the audit trail. Every service write calls ``audit_record`` in its transaction."""

from __future__ import annotations

from typing import Any

from django.db import models, transaction
from django.utils import timezone

from apps.audit.chain import compute_hash, normalise
from apps.audit.models import AuditChainHead, AuditEvent
from apps.core import context


def object_type_of(obj: models.Model) -> str:
    return obj._meta.label_lower


def audit_record(
    *,
    actor,
    action: str,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str = "",
    object_repr: str = "",
    model_ref: int | None = None,
    changes: dict[str, Any] | None = None,
    message: str = "",
) -> AuditEvent:
    """Append one event to the chain. Must run inside the caller's transaction.

    Locks the chain head row so concurrent writers append strictly one after another.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit_record must be called inside transaction.atomic()")
    if obj is not None:
        object_type = object_type or object_type_of(obj)
        object_id = object_id or str(obj.pk)
        object_repr = object_repr or str(obj)[:300]
    ctx = context.current()
    head, _ = AuditChainHead.objects.select_for_update(of=("self",)).get_or_create(pk=1)
    actor_obj = actor if actor is not None and getattr(actor, "pk", None) else None
    event = AuditEvent(
        sequence=head.sequence + 1,
        occurred_at=timezone.now(),
        actor=actor_obj,
        actor_username=actor_obj.get_username() if actor_obj else "system",
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        object_repr=object_repr[:300],
        model_ref=model_ref,
        changes=normalise(changes or {}),
        message=message,
        request_id=ctx.request_id,
        client_ip=ctx.client_ip,
        prev_hash=head.hash,
    )
    event.hash = compute_hash(event.as_chain_dict())
    event.save()
    head.sequence = event.sequence
    head.hash = event.hash
    head.save(update_fields=["sequence", "hash"])
    return event
