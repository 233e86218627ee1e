"""Where the incidents that notifications point to stand now ("now Investigating, assigned to
Maya Chen"), for a page of notifications in one query. Registered in
``IncidentsConfig.ready``."""

from __future__ import annotations

from collections.abc import Hashable

from apps.incidents.choices import IncidentStatus
from apps.incidents.models import Incident
from apps.notifications.choices import Event
from apps.notifications.registry import State, StateReader, register_state

#: Nothing left to do on an incident in these statuses.
SETTLED = frozenset({IncidentStatus.RESOLVED, IncidentStatus.CLOSED})


def _key(payload: dict) -> Hashable | None:
    value = payload.get("incident")
    return value if isinstance(value, str) and value else None


def incident_states(references: set) -> dict[Hashable, State]:
    rows = Incident.objects.filter(reference__in=references).values_list(
        "reference",
        "status",
        "assignee__username",
        "assignee__first_name",
        "assignee__last_name",
    )
    labels = dict(IncidentStatus.choices)
    states = {}
    for reference, status, username, first, last in rows:
        text = f"Now {labels.get(status, status).lower()}"
        if username and status not in SETTLED:
            text += f", assigned to {f'{first} {last}'.strip() or username}"
        elif status not in SETTLED:
            text += ", not assigned yet"
        states[reference] = State(text=text, settled=status in SETTLED)
    return states


def register_notification_states() -> None:
    register_state(Event.INCIDENT_OPENED, StateReader(key=_key, read=incident_states))
