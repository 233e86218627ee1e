"""Ingestion on a real Celery worker and PostgreSQL, including a worker killed mid-batch."""

from __future__ import annotations

import os
import signal
import time

import pytest

from apps.monitoring.choices import BatchStage, BatchStatus, IngestionSource
from apps.monitoring.ingestion import services
from apps.monitoring.models import IngestionBatch, Observation
from mlgov.celery import app
from tests.celery_worker import running_worker
from tests.monitoring.ingestion.conftest import csv_bytes, good_rows
from tests.monitoring.ingestion.paused import paused_worker_env

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def publish_to(monkeypatch, settings):
    """Send tasks to a test worker's queue; the worker shares this test's media directory."""
    monkeypatch.setenv("DJANGO_MEDIA_ROOT", str(settings.MEDIA_ROOT))
    previous = app.conf.task_default_queue

    def use(queue: str) -> None:
        app.conf.task_always_eager = False
        app.conf.task_default_queue = queue

    yield use
    app.conf.task_default_queue = previous


def send(user, n: int) -> IngestionBatch:
    batch, created = services.ingestion_batch_create(
        user=user, source=IngestionSource.API, data=csv_bytes(*good_rows(n)), file_name="m.csv"
    )
    assert created
    return batch


def wait_for(batch: IngestionBatch, done, timeout: float = 60.0) -> IngestionBatch:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        batch.refresh_from_db()
        if done(batch):
            return batch
        time.sleep(0.1)
    raise AssertionError(f"batch {batch.pk} stuck at {batch.status}/{batch.stage}")


def test_a_batch_is_loaded_by_a_worker(model_owner, auc, recall, versions, publish_to):
    with running_worker() as queue:
        publish_to(queue)
        batch = wait_for(send(model_owner, 200), lambda b: b.stage == BatchStage.DONE)
    assert batch.status == BatchStatus.SUCCEEDED and batch.rows_loaded == 200
    assert Observation.objects.filter(batch=batch).count() == 200


def test_a_worker_killed_mid_load_is_replaced_and_the_batch_loads_once(
    model_owner, auc, recall, versions, publish_to, monkeypatch
):
    # This worker pauses 3 s at each checkpoint, including inside the load transaction
    # before it commits (tests/monitoring/ingestion/paused.py).
    for name, value in paused_worker_env(3).items():
        monkeypatch.setenv(name, value)
    with running_worker() as queue:
        publish_to(queue)
        # Asked while idle: a busy solo worker answers no control messages.
        node = f"{queue}@{os.uname().nodename}"
        pid = app.control.inspect(destination=[node], timeout=5, limit=1).stats()[node]["pid"]
        # LOADING is written by the run's progress connection once rows are being copied,
        # before the load transaction commits (the run then pauses 3 s before its commit).
        batch = wait_for(send(model_owner, 300), lambda b: b.stage == BatchStage.LOADING)
        assert batch.progress > 10
        time.sleep(1.5)  # the rows are inserted, the load transaction not yet committed
        os.kill(pid, signal.SIGKILL)
        time.sleep(1)
    batch.refresh_from_db()
    assert batch.status == BatchStatus.RUNNING and Observation.objects.count() == 0

    # The replacement pauses nowhere and gives an unacknowledged task whose worker died back
    # after 2 s.
    monkeypatch.setenv("DJANGO_SETTINGS_MODULE", "tests.monitoring.ingestion.worker_settings")
    time.sleep(2.5)
    with running_worker(queue=queue):
        batch = wait_for(batch, lambda b: b.stage == BatchStage.DONE)
    assert batch.status == BatchStatus.SUCCEEDED and batch.attempts == 2
    assert (batch.rows_loaded, batch.rows_duplicate) == (300, 0)
    assert Observation.objects.count() == 300
