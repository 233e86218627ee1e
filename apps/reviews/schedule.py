"""Review dates, reminders and escalations as pure date arithmetic. No ORM.

A model's next review falls ``months`` after its last attested review (the cadence of its
tier). Reminders go out 30, 7 and 0 days before; once overdue, an escalation goes out on
the first day and every 7 days after. Each reminder is identified by (kind, due date,
threshold) so the daily scan can log it and never send it twice.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

REMINDER_DAYS = (30, 7, 0)
ESCALATION_EVERY_DAYS = 7
DEFAULT_CADENCE_MONTHS = {1: 12, 2: 24, 3: 36}

SCHEDULED, DUE, OVERDUE, UNSCHEDULED = "scheduled", "due", "overdue", "unscheduled"


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` plus ``months`` calendar months; the 31st becomes the month's last day."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def next_review_date(last_review: dt.date, months: int) -> dt.date:
    return add_months(last_review, months)


def days_until(due: dt.date, today: dt.date) -> int:
    return (due - today).days


def review_state(due: dt.date | None, today: dt.date) -> str:
    """``overdue`` after the due date, ``due`` within the first reminder window, else
    ``scheduled`` (``unscheduled`` without a date)."""
    if due is None:
        return UNSCHEDULED
    left = days_until(due, today)
    if left < 0:
        return OVERDUE
    return DUE if left <= REMINDER_DAYS[0] else SCHEDULED


@dataclass(frozen=True)
class Step:
    """One notification to send: a reminder (``threshold`` = days before) or an escalation
    (``threshold`` = days overdue when that escalation step began)."""

    escalation: bool
    threshold: int


def reminder_step(days_left: int) -> Step | None:
    """The reminder due at ``days_left`` days before the due date, if any.

    The most urgent threshold reached wins: a scan that missed the 30-day mark at 5 days
    sends the 7-day reminder, not both.
    """
    if days_left < 0:
        return None
    reached = [t for t in REMINDER_DAYS if days_left <= t]
    return Step(escalation=False, threshold=min(reached)) if reached else None


def escalation_step(days_left: int, every: int = ESCALATION_EVERY_DAYS) -> Step | None:
    """The escalation due ``-days_left`` days after the due date: one on day 1 overdue,
    then one every ``every`` days (day 8, 15, ...)."""
    overdue = -days_left
    if overdue < 1:
        return None
    return Step(escalation=True, threshold=1 + ((overdue - 1) // every) * every)


def step_for(days_left: int) -> Step | None:
    """What a review ``days_left`` days from its due date should send today."""
    return reminder_step(days_left) or escalation_step(days_left)


def finding_is_overdue(due: dt.date | None, today: dt.date, *, is_open: bool) -> bool:
    return is_open and due is not None and due < today
