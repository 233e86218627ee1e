"""The pure review-date logic: cadence arithmetic, reminders at 30/7/0 days, escalations."""

import datetime as dt

import pytest

from apps.reviews import schedule
from apps.reviews.schedule import Step

TODAY = dt.date(2026, 3, 10)


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (dt.date(2026, 1, 15), 12, dt.date(2027, 1, 15)),
        (dt.date(2026, 1, 31), 1, dt.date(2026, 2, 28)),
        (dt.date(2024, 2, 29), 12, dt.date(2025, 2, 28)),
        (dt.date(2026, 11, 30), 24, dt.date(2028, 11, 30)),
        (dt.date(2026, 12, 1), 36, dt.date(2029, 12, 1)),
    ],
)
def test_it_adds_calendar_months(day, months, expected):
    assert schedule.next_review_date(day, months) == expected


@pytest.mark.parametrize(
    ("days_left", "expected"),
    [
        (45, None),
        (31, None),
        (30, Step(escalation=False, threshold=30)),
        (29, Step(escalation=False, threshold=30)),
        (8, Step(escalation=False, threshold=30)),
        (7, Step(escalation=False, threshold=7)),
        (1, Step(escalation=False, threshold=7)),
        (0, Step(escalation=False, threshold=0)),
        (-1, Step(escalation=True, threshold=1)),
        (-7, Step(escalation=True, threshold=1)),
        (-8, Step(escalation=True, threshold=8)),
        (-14, Step(escalation=True, threshold=8)),
        (-15, Step(escalation=True, threshold=15)),
        (-100, Step(escalation=True, threshold=99)),
    ],
)
def test_each_day_maps_to_one_reminder_or_escalation_step(days_left, expected):
    assert schedule.step_for(days_left) == expected


@pytest.mark.parametrize(
    ("due", "state"),
    [
        (None, schedule.UNSCHEDULED),
        (TODAY + dt.timedelta(days=31), schedule.SCHEDULED),
        (TODAY + dt.timedelta(days=30), schedule.DUE),
        (TODAY, schedule.DUE),
        (TODAY - dt.timedelta(days=1), schedule.OVERDUE),
    ],
)
def test_it_names_the_review_state(due, state):
    assert schedule.review_state(due, TODAY) == state


def test_a_finding_is_overdue_only_while_open_and_past_due():
    yesterday = TODAY - dt.timedelta(days=1)
    assert schedule.finding_is_overdue(yesterday, TODAY, is_open=True)
    assert not schedule.finding_is_overdue(TODAY, TODAY, is_open=True)
    assert not schedule.finding_is_overdue(yesterday, TODAY, is_open=False)
