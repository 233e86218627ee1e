"""EU AI Act Art. 73 reporting deadlines (pure)."""

from __future__ import annotations

import datetime as dt

import pytest

from apps.incidents import deadlines

AWARE = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("category", "widespread", "days"),
    [
        ("health", False, 15),
        ("fundamental_rights", False, 15),
        ("property_environment", False, 15),
        ("death", False, 10),
        ("critical_infrastructure", False, 2),
        ("fundamental_rights", True, 2),
        ("death", True, 2),  # the shortest applicable deadline wins
        ("", False, None),
    ],
)
def test_the_deadline_depends_on_the_category(category, widespread, days):
    deadline = deadlines.reporting_deadline(
        awareness_at=AWARE, category=category, widespread=widespread
    )
    assert deadline == (AWARE + dt.timedelta(days=days) if days else None)


def test_no_awareness_time_no_deadline():
    assert (
        deadlines.reporting_deadline(awareness_at=None, category="health", widespread=False) is None
    )


@pytest.mark.parametrize(
    ("now", "text"),
    [
        (AWARE, "15 days left"),
        (AWARE + dt.timedelta(days=11, hours=20), "3 days 4 hours left"),
        (AWARE + dt.timedelta(days=14, hours=22, minutes=30), "1 hour 30 minutes left"),
        (AWARE + dt.timedelta(days=14, hours=23, minutes=59, seconds=30), "1 minute left"),
        (AWARE + dt.timedelta(days=17), "overdue by 2 days"),
        (AWARE + dt.timedelta(days=16, hours=1), "overdue by 1 day 1 hour"),
    ],
)
def test_the_countdown_reads_naturally(now, text):
    deadline = AWARE + dt.timedelta(days=15)
    countdown = deadlines.countdown(deadline=deadline, now=now)
    assert countdown.text == text
    assert countdown.overdue == text.startswith("overdue")


def test_a_reported_incident_is_never_overdue():
    deadline = AWARE + dt.timedelta(days=2)
    late = deadlines.countdown(
        deadline=deadline,
        now=AWARE + dt.timedelta(days=9),
        reported_at=deadline + dt.timedelta(hours=1),
    )
    assert (late.overdue, late.reported, late.text) == (False, True, "reported late")
    on_time = deadlines.countdown(
        deadline=deadline, now=AWARE + dt.timedelta(days=9), reported_at=AWARE
    )
    assert on_time.text == "reported"


def test_no_deadline_no_countdown():
    countdown = deadlines.countdown(deadline=None, now=AWARE)
    assert (countdown.text, countdown.overdue) == ("", False)
