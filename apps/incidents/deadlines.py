"""EU AI Act Art. 73 reporting deadlines of serious incidents. Pure: no ORM.

The clock starts when the provider becomes aware of the serious incident (``awareness_at``):
15 days in general (Art. 73(2)); 10 days if a person died (Art. 73(4)); 2 days for a
widespread infringement or a serious and irreversible disruption of critical infrastructure
(Art. 3(49)(b), Art. 73(3)). The shortest applicable deadline wins. Once reported, an
incident is never overdue.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

DEATH = "death"
CRITICAL_INFRASTRUCTURE = "critical_infrastructure"

GENERAL_DAYS = 15
DEATH_DAYS = 10
URGENT_DAYS = 2


def reporting_days(*, category: str, widespread: bool) -> int | None:
    """Days to report a serious incident of ``category``; None when it is not serious."""
    if not category:
        return None
    if widespread or category == CRITICAL_INFRASTRUCTURE:
        return URGENT_DAYS
    if category == DEATH:
        return DEATH_DAYS
    return GENERAL_DAYS


def reporting_deadline(
    *, awareness_at: dt.datetime | None, category: str, widespread: bool
) -> dt.datetime | None:
    """When the report is due, or None (not serious, or awareness time not yet known)."""
    days = reporting_days(category=category, widespread=widespread)
    if days is None or awareness_at is None:
        return None
    return awareness_at + dt.timedelta(days=days)


def _plural(n: int, unit: str) -> str:
    return f"{n} {unit}{'' if n == 1 else 's'}"


def span_text(delta: dt.timedelta) -> str:
    """A duration in its two largest units: "3 days 4 hours", "5 hours", "12 minutes"."""
    seconds = max(int(delta.total_seconds()), 0)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return _plural(days, "day") + (f" {_plural(hours, 'hour')}" if hours else "")
    if hours:
        return _plural(hours, "hour") + (f" {_plural(minutes, 'minute')}" if minutes else "")
    return _plural(max(minutes, 1), "minute")


@dataclass(frozen=True)
class Countdown:
    """How a reporting deadline stands at one moment."""

    deadline: dt.datetime | None
    text: str
    overdue: bool
    reported: bool


def countdown(
    *, deadline: dt.datetime | None, now: dt.datetime, reported_at: dt.datetime | None = None
) -> Countdown:
    """ "3 days 4 hours left", "overdue by 2 days", or "reported"; overdue only if unreported."""
    if reported_at is not None:
        late = deadline is not None and reported_at > deadline
        text = "reported late" if late else "reported"
        return Countdown(deadline, text, overdue=False, reported=True)
    if deadline is None:
        return Countdown(None, "", overdue=False, reported=False)
    if now > deadline:
        return Countdown(deadline, f"overdue by {span_text(now - deadline)}", True, False)
    return Countdown(deadline, f"{span_text(deadline - now)} left", overdue=False, reported=False)
