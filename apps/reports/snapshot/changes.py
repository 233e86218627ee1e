"""The model's change history up to T: its newest audit events (the snapshot's ``changes``)."""

from __future__ import annotations

from typing import Any

from apps.reports.snapshot.context import Context
from apps.reports.snapshot.values import iso

#: Newest audit events listed as the change history.
MAX_CHANGES = 200


def changes(ctx: Context) -> list[dict[str, Any]]:
    shown = [e for e in reversed(ctx.events) if e.occurred_at <= ctx.moment][:MAX_CHANGES]
    return [
        {
            "sequence": e.sequence,
            "occurred_at": iso(e.occurred_at),
            "actor": e.actor_username,
            "action": e.action,
            "object_type": e.object_type,
            "object_repr": e.object_repr,
            "fields": sorted(e.changes) if isinstance(e.changes, dict) else [],
            "message": e.message,
        }
        for e in shown
    ]
