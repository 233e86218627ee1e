"""Dated steps run in time order under a clock the services read (apps.demo.story)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from apps.core import clock as mlgov_clock
from apps.demo.story import Step, StoryClock, run_story

END = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def _day(n: int) -> datetime:
    return END - timedelta(days=n)


def test_steps_run_in_time_order_at_their_time_and_may_add_steps():
    clock = StoryClock(start=_day(30), end=END)
    seen: list[tuple[str, datetime]] = []

    def note(label: str):
        return lambda: seen.append((label, mlgov_clock.now()))

    def opens_more():
        seen.append(("parent", mlgov_clock.now()))
        # One step later than the parent, one dated before it (runs now: time never goes back).
        return [Step(_day(2), "child", note("child")), Step(_day(20), "late", note("late"))]

    steps = [
        Step(_day(5), "b", note("b")),
        Step(_day(10), "parent", opens_more),
        Step(_day(5), "b2", note("b2")),
        Step(_day(1), "future", note("future")),
        Step(END + timedelta(days=3), "after the end", note("after the end")),
    ]
    with clock.running():
        ran = run_story(steps, clock=clock)

    assert ran == 7
    assert [label for label, _ in seen] == [
        "parent",
        "late",
        "b",
        "b2",
        "child",
        "future",
        "after the end",
    ]
    times = [t for _, t in seen]
    assert all(a < b for a, b in itertools.pairwise(times))
    assert _day(10) <= times[0] < _day(10) + timedelta(seconds=1)
    assert _day(5) <= times[2] < _day(5) + timedelta(seconds=1)
    assert times[-1] < END
    # The story's clock is handed back afterwards.
    assert mlgov_clock.now() - timezone.now() < timedelta(seconds=5)


def test_without_a_clock_steps_run_in_order_at_the_real_time():
    order: list[str] = []
    run_story(
        [
            Step(_day(1), "second", lambda: order.append("second")),
            Step(_day(3), "first", lambda: order.append("first")),
        ]
    )
    assert order == ["first", "second"]


def test_a_clock_must_start_before_it_ends():
    with pytest.raises(ValueError, match="start before"):
        StoryClock(start=END, end=END)
