"""The demo, seeded once for every test of this package.

``seed_demo`` takes 10–25 s; the tests here only read what it made (or change it and expect
the change gone afterwards), so it runs once, in a transaction held open while the package's
tests run and rolled back after the last one: no demo row outlives the package. Each test
runs in its own savepoint inside that transaction (pytest-django's ``db``), so a test that
writes, or seeds a second time, leaves the next one the freshly seeded demo.

Only tests that start from the seeded demo belong here; a test that needs an empty database
(or a live server, or another process) stays outside this package.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import transaction
from django.test.utils import override_settings
from django.utils import timezone

from mlgov.celery import app as celery_app


@dataclass(frozen=True)
class SeededDemo:
    started: datetime  # the real time just before seed_demo ran
    media: Path  # where its stored files (metric batches, drift samples) went


@pytest.fixture(scope="package", autouse=True)
def seeded_demo(django_db_setup, django_db_blocker, tmp_path_factory):
    media = tmp_path_factory.mktemp("demo-media")
    checkpoints = tmp_path_factory.mktemp("demo-audit-checkpoints") / "audit_checkpoints.jsonl"
    outer = transaction.atomic()
    eager = celery_app.conf.task_always_eager
    with (
        django_db_blocker.unblock(),
        pytest.MonkeyPatch.context() as monkeypatch,
        override_settings(
            MEDIA_ROOT=media,
            MLGOV_AUDIT_CHECKPOINT_PATH=checkpoints,
            PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        ),
    ):
        monkeypatch.delenv("MLGOV_DEMO_PASSWORD", raising=False)
        celery_app.conf.task_always_eager = True
        outer.__enter__()
        try:
            started = timezone.now()
            call_command("seed_demo", stdout=io.StringIO())
        except BaseException:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)
            raise
        finally:
            celery_app.conf.task_always_eager = eager
    try:
        yield SeededDemo(started=started, media=media)
    finally:
        with django_db_blocker.unblock():
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


@pytest.fixture(autouse=True)
def _media(settings, seeded_demo):
    """Tests read and write the seeded demo's stored files where seed_demo put them."""
    settings.MEDIA_ROOT = seeded_demo.media
