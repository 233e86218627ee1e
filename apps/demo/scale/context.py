"""What every stage of the scale generator shares: the options, the time span of the
history, one random generator per stage (so a change in one stage leaves the others' data
as it was), the audit events collected for the bulk append, and progress reporting."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import connection

from apps.demo.scale.chain import Event


@dataclass(frozen=True)
class ScaleOptions:
    models: int = 10_000
    observations: int = 10_000_000
    heavy_observations: int = 1_000_000
    audit_events: int = 1_000_000
    seed: int = 15
    #: Days of history (model registrations, observations) before now.
    history_days: int = 730
    #: Models whose observations are spread (besides the heavy model).
    monitored_models: int = 300
    unscoped_batches: int = 12


@dataclass
class Scale:
    """The run's shared state."""

    options: ScaleOptions
    now: datetime
    report: Callable[[str], None] = print
    events: list[Event] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    #: username -> (id, username); and the ids of each role's users
    people: dict[str, Any] = field(default_factory=dict)
    by_role: dict[str, list[int]] = field(default_factory=dict)
    names: dict[int, str] = field(default_factory=dict)
    full_names: dict[int, str] = field(default_factory=dict)
    # What the stages make, for the stages after them.
    units: list = field(default_factory=list)
    metrics: dict = field(default_factory=dict)
    datasets: list = field(default_factory=list)
    plans: list = field(default_factory=list)
    plan_by_id: dict = field(default_factory=dict)
    requests: list = field(default_factory=list)
    thresholds: list = field(default_factory=list)
    loaded: int = 0

    @property
    def start(self) -> datetime:
        return self.now - timedelta(days=self.options.history_days)

    def rng(self, stage: str) -> random.Random:
        return random.Random(f"{self.options.seed}:{stage}")

    def event(
        self,
        at: datetime,
        actor_id: int | None,
        action: str,
        object_type: str,
        object_id: Any,
        object_repr: str,
        *,
        model_ref: int | None = None,
        changes: dict | None = None,
        message: str = "",
    ) -> None:
        self.events.append(
            Event(
                at=at,
                actor_id=actor_id,
                actor_username=self.names.get(actor_id, "system") if actor_id else "system",
                action=action,
                object_type=object_type,
                object_id=str(object_id),
                object_repr=str(object_repr)[:300],
                model_ref=model_ref,
                changes=changes,
                message=message,
            )
        )

    def stage(self, label: str):
        return _Stage(self, label)


class _Stage:
    def __init__(self, scale: Scale, label: str):
        self.scale, self.label = scale, label

    def __enter__(self):
        self.started = time.monotonic()
        self.scale.report(f"  {self.label} …")
        return self

    def __exit__(self, *exc):
        elapsed = time.monotonic() - self.started
        self.scale.timings[self.label] = elapsed
        if exc[0] is None:
            self.scale.report(f"  {self.label}: {elapsed:.1f} s")
        return False


def set_stamps(model, rows: list[tuple[int, dict[str, datetime]]]) -> None:
    """Give bulk-created rows their historical stamps (``StampField`` stamps the clock's
    "now" on insert): one UPDATE per row, sent together."""
    if not rows:
        return
    names = sorted(rows[0][1])
    table = connection.ops.quote_name(model._meta.db_table)
    assignments = ", ".join(f"{connection.ops.quote_name(n)} = %s" for n in names)
    params = [[*(values[n] for n in names), pk] for pk, values in rows]
    with connection.cursor() as cursor:
        for i in range(0, len(params), 5000):
            cursor.executemany(
                f"UPDATE {table} SET {assignments} WHERE id = %s",  # noqa: S608 (our names)
                params[i : i + 5000],
            )
