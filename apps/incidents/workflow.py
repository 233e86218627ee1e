"""The incident status workflow. Pure: no ORM.

open → investigating → mitigated → resolved → closed. An investigation may end without a
mitigation (straight to resolved), a mitigation that did not hold goes back to
investigating, and a resolved or closed incident is reopened (back to open). Resolving
needs the root cause and the corrective actions on record.
"""

from __future__ import annotations

from apps.incidents.choices import IncidentStatus

S = IncidentStatus

TRANSITIONS: dict[str, tuple[str, ...]] = {
    S.OPEN: (S.INVESTIGATING,),
    S.INVESTIGATING: (S.MITIGATED, S.RESOLVED),
    S.MITIGATED: (S.RESOLVED, S.INVESTIGATING),
    S.RESOLVED: (S.CLOSED, S.OPEN),
    S.CLOSED: (S.OPEN,),
}

#: Moves back to open: the incident is worked on again.
REOPEN_FROM = (S.RESOLVED, S.CLOSED)


class TransitionRefused(Exception):
    """The requested status change is not allowed; the message says why."""


def allowed_targets(current: str) -> tuple[str, ...]:
    return TRANSITIONS.get(current, ())


def is_reopen(current: str, target: str) -> bool:
    return current in REOPEN_FROM and target == S.OPEN


def check_transition(
    *, current: str, target: str, root_cause: str = "", corrective_actions: str = ""
) -> None:
    """Raise ``TransitionRefused`` with a readable message unless the move is allowed."""
    labels = dict(S.choices)
    if target not in labels:
        raise TransitionRefused(f"Unknown incident status {target!r}.")
    if target == current:
        raise TransitionRefused(f"The incident is already {labels[current].lower()}.")
    if target not in allowed_targets(current):
        options = ", ".join(labels[t].lower() for t in allowed_targets(current)) or "none"
        raise TransitionRefused(
            f"An incident that is {labels[current].lower()} cannot become "
            f"{labels[target].lower()}. Allowed next: {options}."
        )
    if target == S.RESOLVED:
        missing = [
            name
            for name, value in (
                ("root cause", root_cause),
                ("corrective actions", corrective_actions),
            )
            if not (value or "").strip()
        ]
        if missing:
            raise TransitionRefused(
                f"Record the {' and the '.join(missing)} before resolving the incident."
            )
