"""mlgov's clock: the real time unless a caller hands its own in, for its own thread only."""

import re
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from apps.core import clock
from apps.demo.story import StoryClock
from tests.factories import RegisteredModelFactory

THEN = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)


def test_now_is_the_real_time_by_default():
    before = timezone.now()
    assert before <= clock.now() <= timezone.now()


def test_a_handed_in_clock_holds_within_its_block_only():
    with clock.reading(lambda: THEN):
        assert clock.now() == THEN
    assert clock.now() - timezone.now() < timedelta(seconds=5)


def test_another_thread_keeps_the_real_time():
    seen = []
    with clock.reading(lambda: THEN):
        worker = threading.Thread(target=lambda: seen.append(clock.now()))
        worker.start()
        worker.join()
    assert seen[0] > THEN + timedelta(days=365)


@pytest.mark.django_db
def test_created_and_updated_stamps_read_the_clock():
    with clock.reading(lambda: THEN):
        model = RegisteredModelFactory()
    assert model.created_at == THEN
    assert model.updated_at == THEN
    later = THEN + timedelta(days=2)
    with clock.reading(lambda: later):
        model.purpose = "Re-scoped"
        model.save()
    model.refresh_from_db()
    assert (model.created_at, model.updated_at) == (THEN, later)


@pytest.mark.django_db
def test_the_story_clock_stamps_records_without_patching_django():
    story = StoryClock(start=THEN, end=THEN + timedelta(days=30))
    real_now = timezone.now
    with story.running():
        assert timezone.now is real_now
        model = RegisteredModelFactory()
    assert THEN < model.created_at < THEN + timedelta(seconds=1)


# Where the real time is read on purpose: the clock itself and the demo's seeder (it dates its
# story back from today).
READS_THE_REAL_TIME = {"apps/core/clock.py", "apps/demo/services.py", "apps/demo/inventory.py"}


def test_the_apps_read_the_time_through_the_clock():
    root = Path(__file__).resolve().parents[2]
    direct = {
        path.relative_to(root).as_posix()
        for path in (root / "apps").rglob("*.py")
        if "migrations" not in path.parts and re.search(r"timezone\.now\(\)", path.read_text())
    }
    assert direct <= READS_THE_REAL_TIME, sorted(direct - READS_THE_REAL_TIME)
