"""What an evaluation result means for a threshold: its state and the breach changes. Pure.

A breach is open while a threshold stays in warning or critical for a version. Entering
warning or critical starts one; a change between them (escalation or easing) ends the open
breach and starts one of the new state; a return to ok ends it (a recovery). Insufficient
data says nothing either way, so an open breach stays open.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from apps.monitoring import bounds

INSUFFICIENT = "insufficient"
BREACH_STATES = (bounds.WARNING, bounds.CRITICAL)


def window_start(*, evaluation: str, window_days: int | None, newest: dt.datetime):
    """Inclusive start of the window ending at ``newest`` (None for the latest value)."""
    if evaluation in bounds.WINDOWED:
        return newest - dt.timedelta(days=window_days or 0)
    return None


def required_samples(evaluation: str, min_samples: int) -> int:
    """The latest value is one sample, always enough; a window needs ``min_samples``."""
    return max(min_samples, 1) if evaluation in bounds.WINDOWED else 1


def evaluated_value(evaluation: str, *, mean, minimum, maximum, latest) -> float | None:
    return {"mean": mean, "min": minimum, "max": maximum}.get(evaluation, latest)


def state_of(
    value: float | None,
    *,
    count: int,
    min_samples: int,
    direction: str,
    warning: float,
    critical: float,
) -> str:
    """``insufficient`` below the minimum sample count, else the bounds' classification."""
    if value is None or count < max(min_samples, 1):
        return INSUFFICIENT
    return bounds.classify(value, direction=direction, warning=warning, critical=critical)


@dataclass(frozen=True)
class Plan:
    end_open: bool = False
    start: str | None = None

    @property
    def recovered(self) -> bool:
        return self.end_open and self.start is None


def plan(*, open_state: str | None, new_state: str) -> Plan:
    """The breach changes for a threshold whose open breach (if any) is in ``open_state``."""
    if new_state in BREACH_STATES:
        if open_state == new_state:
            return Plan()
        return Plan(end_open=open_state is not None, start=new_state)
    if new_state == bounds.OK and open_state is not None:
        return Plan(end_open=True)
    return Plan()
