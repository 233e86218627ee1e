"""A model's health: one state from a few facts about it. Pure: no ORM.

The facts are yes/no answers about one model, read for a page of models in one query
(``apps/inventory/health_facts.py``; the apps that own them register them):

- ``open_incident`` / ``serious_incident``: an incident still being worked on (open,
  investigating, mitigated), and whether one of them is serious (EU AI Act Art. 73 clock);
- ``critical_breach`` / ``warning_breach``: an active threshold of the model is in that state;
- ``threshold_expired``: a threshold passed its review-by date and no longer applies;
- ``review_overdue``: the periodic review date has passed (models in service only);
- ``finding_overdue``: an open finding passed its due date.

The state is the first in ``PRECEDENCE`` that one of its facts holds for: an open incident
outranks a critical breach (a critical breach opens one, and the incident says who is on it),
a breach outranks a threshold that stopped applying (the model's metrics are known to be bad,
not merely unwatched), and a lapsed threshold outranks an overdue review or finding (the model
runs unwatched). ``OK`` when no fact holds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from django.db.models import TextChoices


class HealthState(TextChoices):
    OK = "ok", "OK"
    WARNING = "warning", "Warning"
    CRITICAL = "critical", "Critical"
    INCIDENT = "incident", "Open incident"
    OVERDUE = "overdue", "Review or finding overdue"
    EXPIRED = "expired", "Threshold expired"


#: Worst first; OK is what remains.
PRECEDENCE: tuple[HealthState, ...] = (
    HealthState.INCIDENT,
    HealthState.CRITICAL,
    HealthState.WARNING,
    HealthState.EXPIRED,
    HealthState.OVERDUE,
)

#: Each fact and the state it puts a model in.
FACT_STATES: dict[str, HealthState] = {
    "open_incident": HealthState.INCIDENT,
    "serious_incident": HealthState.INCIDENT,
    "critical_breach": HealthState.CRITICAL,
    "warning_breach": HealthState.WARNING,
    "threshold_expired": HealthState.EXPIRED,
    "review_overdue": HealthState.OVERDUE,
    "finding_overdue": HealthState.OVERDUE,
}
FACTS: tuple[str, ...] = tuple(FACT_STATES)

#: How a state is shown: ``danger`` and ``warn`` as the badges of that name.
TONES: dict[str, str] = {
    HealthState.OK: "ok",
    HealthState.INCIDENT: "danger",
    HealthState.CRITICAL: "danger",
    HealthState.WARNING: "warn",
    HealthState.EXPIRED: "warn",
    HealthState.OVERDUE: "warn",
}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a model, for the banner: what, and where to act on it."""

    state: str
    text: str
    url: str = ""


@dataclass(frozen=True)
class Health:
    """A model's state, every state that applies (worst first) and whether an open incident
    is serious; ``problems`` are filled in for a single model's banner only."""

    state: HealthState
    states: tuple[HealthState, ...] = ()
    serious: bool = False
    problems: tuple[Problem, ...] = ()

    @property
    def ok(self) -> bool:
        return self.state == HealthState.OK

    @property
    def label(self) -> str:
        if self.state == HealthState.INCIDENT and self.serious:
            return "Serious incident"
        return self.state.label

    @property
    def tone(self) -> str:
        return TONES[self.state]

    @property
    def also(self) -> list[str]:
        """The labels of the other states that apply, for a line under the badge."""
        return [s.label for s in self.states[1:]]


def health_of(facts: Mapping[str, bool], problems: tuple[Problem, ...] = ()) -> Health:
    """The health of a model given its facts (a missing fact counts as false)."""
    held = {FACT_STATES[name] for name in FACTS if facts.get(name)}
    states = tuple(s for s in PRECEDENCE if s in held)
    return Health(
        state=states[0] if states else HealthState.OK,
        states=states,
        serious=bool(facts.get("serious_incident")),
        problems=problems,
    )


def state_requirements(state: str) -> tuple[frozenset[str], frozenset[str]]:
    """``(any_of, none_of)``: a model is in ``state`` when one fact of ``any_of`` holds (no
    requirement for OK) and no fact of ``none_of`` does (those of the worse states). The
    database filter is built from this, so the list filter agrees with :func:`health_of`."""
    state = HealthState(state)
    if state == HealthState.OK:
        return frozenset(), frozenset(FACTS)
    worse = PRECEDENCE[: PRECEDENCE.index(state)]
    any_of = frozenset(f for f, s in FACT_STATES.items() if s == state)
    none_of = frozenset(f for f, s in FACT_STATES.items() if s in worse)
    return any_of, none_of
