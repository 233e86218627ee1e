"""Where the approval requests that notifications point to stand now, read for a page of them
in two queries (the requests, then their decisions with the approvers' names)."""

from __future__ import annotations

from collections.abc import Hashable

from django.contrib.auth import get_user_model

from apps.approvals.choices import RequestStatus, Verdict
from apps.approvals.models import ApprovalRequest, Decision
from apps.notifications.choices import Event
from apps.notifications.registry import State, StateReader, register_state


def _request_key(payload: dict) -> Hashable | None:
    value = payload.get("request_id")
    return value if isinstance(value, int) else None


def _name(first: str, last: str, username: str) -> str:
    return f"{first} {last}".strip() or username


def approval_states(ids: set) -> dict[Hashable, State]:
    """``{request id: State}``: pending with who has approved so far, or how it ended and who
    decided it."""
    requests = dict(ApprovalRequest.objects.filter(pk__in=ids).values_list("pk", "status"))
    if not requests:
        return {}
    user = get_user_model()
    decisions: dict[int, list[tuple[str, str]]] = {}
    rows = (
        Decision.objects.filter(request_id__in=list(requests))
        .order_by("signed_at", "pk")
        .values_list(
            "request_id",
            "verdict",
            f"approver__{user.USERNAME_FIELD}",
            "approver__first_name",
            "approver__last_name",
        )
    )
    for request_id, verdict, username, first, last in rows:
        decisions.setdefault(request_id, []).append((verdict, _name(first, last, username)))
    labels = dict(RequestStatus.choices)
    states = {}
    for pk, status in requests.items():
        made = decisions.get(pk, [])
        if status == RequestStatus.PENDING:
            approved = [name for verdict, name in made if verdict == Verdict.APPROVE]
            text = "Still pending" + (
                f"; approved so far by {', '.join(approved)}" if approved else ""
            )
            states[pk] = State(text=text)
            continue
        text = f"Now {labels.get(status, status).lower()}"
        deciders = [name for _, name in made]
        if (
            status
            in (RequestStatus.APPROVED, RequestStatus.REJECTED, RequestStatus.CHANGES_REQUESTED)
            and deciders
        ):
            text += f" by {', '.join(dict.fromkeys(deciders))}"
        states[pk] = State(text=text, settled=True)
    return states


def register_states() -> None:
    reader = StateReader(key=_request_key, read=approval_states)
    register_state(Event.APPROVAL_REQUESTED, reader)
    register_state(Event.APPROVAL_DECIDED, reader)
