"""The model's change history up to T, governance first: its newest governance events (the
snapshot's ``changes``: people's decisions and edits, incidents, thresholds, reviews) and the
automated activity (metric ingestion, drift runs, breaches detected) summarised per kind by
count and period (``automated_activity``). The audit extract lists every event."""

from __future__ import annotations

from typing import Any

from apps.audit import kinds
from apps.audit.models import AuditEvent
from apps.reports.snapshot.context import Context
from apps.reports.snapshot.values import iso

#: Newest governance events listed as the change history.
MAX_CHANGES = 200

#: Audit object types written by pipelines and jobs rather than decided by people (the audit
#: log's automated types, ``apps.audit.kinds.AUTOMATED_TYPES``), in the order a card lists
#: them, with what a reader calls them. Their outcome that matters to governance (a breach's
#: incident, a threshold's state) is recorded by governance events and sections of its own;
#: the runs themselves are counted, not listed.
AUTOMATED = {
    "monitoring.ingestionbatch": "Metric ingestion batches",
    "monitoring.driftrun": "Drift runs",
    "monitoring.breach": "Threshold breaches detected",
    "monitoring.observation": "Metric observations",
    "monitoring.thresholdstate": "Threshold evaluations",
    "reviews.reminderlog": "Review reminders",
    "reports.report": "Reports generated",
    "jobs.job": "Background jobs",
    "audit.chainverification": "Audit chain verifications",
    "notifications.webhookdelivery": "Webhook deliveries",
    "mlflow_sync.syncrun": "MLflow sync runs",
    "mlflow_sync.modellink": "MLflow model links",
}


def is_automated(object_type: str) -> bool:
    """Whether an audit event's object is the monitoring pipeline's (counted, not listed)."""
    return object_type in AUTOMATED


def changes(ctx: Context) -> list[dict[str, Any]]:
    """The newest ``MAX_CHANGES`` governance events at or before T, newest first."""
    shown = [
        e
        for e in reversed(ctx.events)
        if e.occurred_at <= ctx.moment and not is_automated(e.object_type)
    ][:MAX_CHANGES]
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


def automated_activity(ctx: Context) -> list[dict[str, Any]]:
    """The automated events at or before T per kind (in ``AUTOMATED``'s order): how many
    events, about how many objects, the first and last time, and the actions counted."""
    groups: dict[str, dict[str, Any]] = {}
    for e in ctx.events:
        if e.occurred_at > ctx.moment or not is_automated(e.object_type):
            continue
        group = groups.setdefault(
            e.object_type,
            {"objects": set(), "actions": {}, "first": e.occurred_at, "last": e.occurred_at},
        )
        group["objects"].add(e.object_id)
        group["actions"][e.action] = group["actions"].get(e.action, 0) + 1
        group["first"] = min(group["first"], e.occurred_at)
        group["last"] = max(group["last"], e.occurred_at)
    return [
        {
            "object_type": object_type,
            "label": label,
            "events": sum(groups[object_type]["actions"].values()),
            "objects": len(groups[object_type]["objects"]),
            "actions": dict(sorted(groups[object_type]["actions"].items())),
            "first_at": iso(groups[object_type]["first"]),
            "last_at": iso(groups[object_type]["last"]),
        }
        for object_type, label in AUTOMATED.items()
        if object_type in groups
    ]


ACTION_LABELS = dict(AuditEvent.Action.choices)


def labelled_change(change: dict[str, Any]) -> dict[str, Any]:
    """A listed change as people read it, for the card's renderings: "Decided", "Approval
    request", "content SHA-256" rather than the trail's ``decide``,
    ``approvals.approvalrequest``, ``content_sha256`` (the names the History tab prints)."""
    object_type = change.get("object_type") or ""
    action = change.get("action") or ""
    return {
        **change,
        "action_label": str(ACTION_LABELS.get(action, action.replace("_", " "))),
        "type_label": kinds.type_label(object_type) if object_type else "",
        "field_labels": [kinds.field_label(object_type, n) for n in change.get("fields") or []],
    }
