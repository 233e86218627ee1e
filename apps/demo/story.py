"""Dated steps, run in time order under a clock that the services read.

The demo data is a story told over more than a year: models registered, assessed, validated
and promoted, thresholds signed, weekly metric batches evaluated, an incident opened, a
candidate rejected. Seeding runs each step at the time the story gives it, handing a
:class:`StoryClock` to mlgov's clock (``apps.core.clock.reading``), so every record the
services write (audit events, approvals, thresholds, batches, breaches, incidents) carries
that time, and a report as of a past date finds the record as it stood then.

A step may return further steps (for instance the weekly batches of the models that exist by
then); they join the queue in time order.

Why a clock and not real times with dates relative to now: run at the real time, fifteen
months of history would all carry the same instant, and a report as of last spring would find
an empty inventory. The clock is handed explicitly to ``run_story`` and to the seeder (which
pass the story's dates to the services that take one: deployments, drift runs); the services
that stamp records with ``apps.core.clock.now()`` and take no time (the audit trail, approvals,
batches, breaches, incidents) read it while ``StoryClock.running`` holds, which only
``apps.demo.services.demo_seed`` enters, for its one transaction. Nothing is patched: the
story's clock is handed in for the current thread only, so a request served meanwhile keeps
the real time.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from apps.core import clock


@dataclass(frozen=True)
class Step:
    """Something the story does at ``when``; ``run`` may return further steps."""

    when: datetime
    label: str
    run: Callable[[], Iterable[Step] | None] = field(repr=False)


class StoryClock:
    """mlgov's clock (``apps.core.clock.now()``) while the story runs.

    It never goes back and never reaches ``end`` (the real time the story ends at): a step
    dated earlier than the clock runs at the clock's time, a step dated after ``end`` runs just
    before it. Each reading moves it on by a millisecond, so records keep their order.
    """

    TICK = timedelta(milliseconds=1)
    MARGIN = timedelta(seconds=1)

    def __init__(self, *, start: datetime, end: datetime):
        if start >= end:
            raise ValueError("The story must start before it ends.")
        self.current = start
        self.end = end

    def __call__(self) -> datetime:
        self.current += self.TICK
        return self.current

    def at(self, when: datetime) -> datetime:
        """Move on to ``when`` (or just before the end), never back."""
        self.current = max(self.current, min(when, self.end - self.MARGIN))
        return self.current

    def advance(self, **delta) -> datetime:
        """Let time pass inside a step (days between a request and its sign-off)."""
        return self.at(self.current + timedelta(**delta))

    @contextmanager
    def running(self) -> Iterator[StoryClock]:
        with clock.reading(self):
            yield self


def run_story(steps: Iterable[Step], *, clock: StoryClock | None = None) -> int:
    """Run ``steps`` and the steps they return in time order (ties in the order given);
    under ``clock`` when one is given, else at the real time. Returns how many ran."""
    order = itertools.count()
    queue = [(step.when, next(order), step) for step in steps]
    heapq.heapify(queue)
    ran = 0
    while queue:
        when, _, step = heapq.heappop(queue)
        if clock is not None:
            clock.at(when)
        for later in step.run() or ():
            heapq.heappush(queue, (later.when, next(order), later))
        ran += 1
    return ran
