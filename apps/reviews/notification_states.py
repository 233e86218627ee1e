"""Where the findings that overdue notifications point to stand now ("now remediated"), for a
page of notifications in one query. Registered in ``ReviewsConfig.ready``."""

from __future__ import annotations

from collections.abc import Hashable

from apps.notifications.choices import Event
from apps.notifications.registry import State, StateReader, register_state
from apps.reviews.choices import FindingStatus
from apps.reviews.models import Finding


def _key(payload: dict) -> Hashable | None:
    value = payload.get("finding")
    return value if isinstance(value, int) else None


def finding_states(pks: set) -> dict[Hashable, State]:
    labels = dict(FindingStatus.choices)
    rows = Finding.objects.filter(pk__in=pks).values_list("pk", "status", "due_date")
    return {
        pk: (
            State(text=f"Still open, due {due:%-d %b %Y}")
            if status == FindingStatus.OPEN
            else State(text=f"Now {labels.get(status, status).lower()}", settled=True)
        )
        for pk, status, due in rows
    }


def register_notification_states() -> None:
    register_state(Event.FINDING_OVERDUE, StateReader(key=_key, read=finding_states))
