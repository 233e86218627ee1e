"""The audit log in the browser: a filtered, paginated list and chain verification.

Only roles that read the audit log get here (audit.view_auditevent / verify_auditevent).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.shortcuts import render
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.formats import date_format
from django.views.decorators.http import require_POST

from apps.accounts.models import User
from apps.audit import selectors
from apps.audit.forms import AuditEventFilterForm
from apps.audit.models import AuditEvent
from apps.core.views import paginate, render_page, require_perm, role_required
from apps.inventory.models import BusinessUnit

# Change fields holding user ids / business-unit ids, shown by name instead.
USER_FIELDS = frozenset(
    {
        "owner",
        "business_owner",
        "validator",
        "risk_assessed_by",
        "approved_by",
        "created_by",
        "decided_by",
        "assessed_by",
    }
)
USER_LIST_FIELDS = frozenset({"developers"})
UNIT_FIELDS = frozenset({"business_unit"})
ISO_MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def _local_moment(value: str) -> str:
    """A stored UTC timestamp shown in the user's zone, like every other time on the page."""
    moment = parse_datetime(value.replace("Z", "+00:00"))
    if moment is None:
        return value
    return date_format(timezone.localtime(moment), "j M Y, H:i:s")


@dataclass(frozen=True)
class ChangeRow:
    field: str
    before: Any
    after: Any


@dataclass(frozen=True)
class EventRow:
    event: AuditEvent
    changes: list[ChangeRow]


def describe_events(events) -> list[EventRow]:
    """Events with their changes made readable: ids of people and units become names.

    Two queries for a whole page of events, whatever it holds.
    """
    events = list(events)
    user_ids: set[int] = set()
    unit_ids: set[int] = set()
    for event in events:
        for name, change in (event.changes or {}).items():
            for value in (change.get("before"), change.get("after")):
                if name in USER_FIELDS and isinstance(value, int):
                    user_ids.add(value)
                elif name in USER_LIST_FIELDS and isinstance(value, list):
                    user_ids.update(v for v in value if isinstance(v, int))
                elif name in UNIT_FIELDS and isinstance(value, int):
                    unit_ids.add(value)
    users = {u.pk: u.username for u in User.objects.filter(pk__in=user_ids)} if user_ids else {}
    units = {u.pk: u.name for u in BusinessUnit.objects.filter(pk__in=unit_ids)} if unit_ids else {}

    def readable(name: str, value: Any) -> Any:
        if name in USER_FIELDS and isinstance(value, int):
            return users.get(value, f"user #{value}")
        if name in USER_LIST_FIELDS and isinstance(value, list):
            return ", ".join(users.get(v, f"user #{v}") for v in value) or "—"
        if name in UNIT_FIELDS and isinstance(value, int):
            return units.get(value, f"unit #{value}")
        if isinstance(value, str) and ISO_MOMENT.match(value):
            return _local_moment(value)
        return value

    rows = []
    for event in events:
        changes = [
            ChangeRow(
                field=name.replace("_", " "),
                before=readable(name, change.get("before")),
                after=readable(name, change.get("after")),
            )
            for name, change in sorted((event.changes or {}).items())
            if isinstance(change, dict)
        ]
        rows.append(EventRow(event=event, changes=changes))
    return rows


@role_required
def event_list(request):
    require_perm(request, "audit.view_auditevent")
    object_types = list(
        AuditEvent.objects.order_by("object_type").values_list("object_type", flat=True).distinct()
    )
    form = AuditEventFilterForm(request.GET or None, object_types=object_types)
    events = form.filter(selectors.audit_event_list())
    page = paginate(request, events)
    context = {
        "form": form,
        "page_obj": page,
        "events": describe_events(page.object_list),
        "head": selectors.chain_head(),
        "can_verify": request.user.has_perm("audit.verify_auditevent"),
    }
    return render_page(
        request, "audit/event_list.html", context, partial="audit/_event_results.html"
    )


@role_required
@require_POST
def verify(request):
    """Recompute the whole chain now and show whether it is intact."""
    require_perm(request, "audit.verify_auditevent")
    verification = selectors.audit_chain_verify_with_checkpoints()
    return render(
        request,
        "audit/verify.html",
        {"result": verification.chain, "checkpoint": verification.checkpoint},
    )
