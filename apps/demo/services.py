"""Loading the demo: ``demo_seed`` runs the whole story (accounts, inventory, thresholds,
metrics, reviews) in one transaction under the story's clock and returns what it created
and what it found already there. The commands (``seed_demo``, ``demo_logins``) only call it
and print."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from apps.core import context
from apps.demo.inventory import Seeder, story_start
from apps.demo.passwords import demo_password
from apps.demo.story import StoryClock


@dataclass(frozen=True)
class SeedResult:
    created: dict[str, int]
    skipped: dict[str, int]


def demo_seed(*, password: str | None = None, now: datetime | None = None) -> SeedResult:
    """Create what is missing of the demo, as its story dates it: the clock starts fifteen
    months before ``now`` (default: the real time) and never reaches it. All or nothing.

    Raises ``ApplicationError`` from the services (typically: the demo accounts exist with
    another password than ``password``)."""
    now = now or timezone.now()
    clock = StoryClock(start=story_start(now), end=now)
    seeder = Seeder(password=password or demo_password(), now=now, clock=clock)
    request_id = f"seed-demo-{context.new_request_id()}"
    with (
        context.bind(request_id=request_id, client_ip=""),
        transaction.atomic(),
        clock.running(),
    ):
        seeder.run()
    return SeedResult(created=dict(seeder.created), skipped=dict(seeder.skipped))
