"""The job outbox in process: a broker outage never fails a request, the dispatcher sends what
waited, a message delivered twice runs once, the reaper re-queues a dead worker's job or gives
up on it with the reason on the record."""

from __future__ import annotations

import datetime
import socket
import subprocess
import sys
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from rest_framework.test import APIClient

from apps.jobs import broker, services
from apps.jobs.models import Job
from apps.monitoring.choices import BatchStatus, IngestionSource
from apps.monitoring.ingestion import services as ingestion
from apps.monitoring.ingestion.tasks import ingest_batch
from apps.monitoring.models import IngestionBatch, Observation
from mlgov.celery import app
from tests.factories import ModelVersionFactory, api_token_key
from tests.monitoring.factories import MetricFactory
from tests.monitoring.ingestion.conftest import csv_bytes, good_rows

pytestmark = pytest.mark.django_db
TASK = ingestion.INGEST_TASK


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def loadable(owned_model, model_owner, admin_user):
    MetricFactory(name="auc", created_by=admin_user)
    ModelVersionFactory(model=owned_model, version="1.0.0", created_by=model_owner)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def broker_down(settings):
    """A real (non-eager) Celery pointed at a port where nothing listens."""
    previous = (app.conf.task_always_eager, app.conf.broker_url)
    app.conf.task_always_eager = False
    app.conf.broker_url = f"redis://127.0.0.1:{_closed_port()}/0"
    broker.mark_up()
    yield
    app.conf.task_always_eager, app.conf.broker_url = previous
    # The app's connection and producer pools made meanwhile point at the closed port: let
    # go of them, or later tests' control messages and send_task go there.
    app._pool = None
    app.amqp._producer_pool = None
    broker.mark_up()


def _send(user, n=5, name="m.csv") -> IngestionBatch:
    batch, created = ingestion.ingestion_batch_create(
        user=user, source=IngestionSource.API, data=csv_bytes(*good_rows(n)), file_name=name
    )
    assert created
    return batch


def test_a_broker_outage_leaves_the_job_pending_and_the_request_answers_202(
    loadable, model_owner, broker_down, django_capture_on_commit_callbacks
):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_key(model_owner)}")
    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/api/v1/ingestion/",
            data={"file": SimpleUploadedFile("m.csv", csv_bytes(*good_rows(4)))},
            format="multipart",
        )
    first = time.monotonic() - started
    assert response.status_code == 202, response.content
    batch = IngestionBatch.objects.get(pk=response.json()["id"])
    job = Job.objects.get(task=TASK, object_id=batch.pk)
    assert batch.status == BatchStatus.QUEUED
    assert (job.state, job.send_attempts) == (Job.State.PENDING, 1) and job.send_error
    assert first < 5, f"the first request waited {first:.1f} s for the broker"

    # While the breaker is open, further requests do not even try.
    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/api/v1/ingestion/",
            data={"file": SimpleUploadedFile("n.csv", csv_bytes(*good_rows(6)))},
            format="multipart",
        )
    assert response.status_code == 202 and time.monotonic() - started < 1
    assert Job.objects.filter(state=Job.State.PENDING).count() == 2


def test_the_dispatcher_sends_what_waited_once_the_broker_is_back(
    loadable, model_owner, broker_down, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        batch = _send(model_owner, 7)
    assert Job.objects.get(object_id=batch.pk).state == Job.State.PENDING
    app.conf.task_always_eager = True  # the broker is back (tasks run here)
    assert services.jobs_tick()["sent"] == [Job.objects.get(object_id=batch.pk).pk]
    batch.refresh_from_db()
    assert batch.status == BatchStatus.SUCCEEDED and batch.rows_loaded == 7
    assert Job.objects.get(object_id=batch.pk).state == Job.State.DONE
    assert services.jobs_tick() == {"reaped": [], "sent": []}


def test_a_message_delivered_twice_runs_once(loadable, model_owner):
    batch = _send(model_owner, 3)  # eager: loaded at once
    assert ingest_batch.apply(args=(batch.pk,)).get() == BatchStatus.SUCCEEDED
    job = Job.objects.get(object_id=batch.pk)
    assert (job.state, job.runs) == (Job.State.DONE, 1)
    assert Observation.objects.filter(batch=batch).count() == 3


def _running(batch_id: int, *, owner: str, expires_in: float, runs: int = 1) -> Job:
    now = timezone.now()
    job, _ = Job.objects.update_or_create(
        task=TASK,
        object_id=batch_id,
        defaults={
            "state": Job.State.RUNNING,
            "available_at": now,
            "runs": runs,
            "lease_owner": owner,
            "lease_expires_at": now + datetime.timedelta(seconds=expires_in),
        },
    )
    return job


@pytest.fixture
def queued_batch(loadable, model_owner, monkeypatch):
    monkeypatch.setattr(services, "_send_after_commit", lambda job_id: None)
    return _send(model_owner, 4)


def test_a_live_lease_elsewhere_is_left_alone(queued_batch):
    _running(queued_batch.pk, owner="another-host:1:x", expires_in=60)
    assert services.job_claim(task=TASK, object_id=queued_batch.pk) is None
    assert services.jobs_reap() == []


def test_a_lease_whose_process_here_is_dead_is_taken_over_at_once(queued_batch):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    _running(queued_batch.pk, owner=f"{socket.gethostname()}:{gone.pid}:x", expires_in=60)
    job = services.job_claim(task=TASK, object_id=queued_batch.pk)
    assert job is not None and job.runs == 2 and job.lease_owner.split(":")[1] != str(gone.pid)


def test_the_reaper_requeues_an_expired_lease_and_the_dispatcher_runs_it(queued_batch):
    job = _running(queued_batch.pk, owner="another-host:1:x", expires_in=-1)
    assert services.jobs_reap() == [job.pk]
    job.refresh_from_db()
    assert job.state == Job.State.PENDING and "stopped without finishing" in job.last_error
    assert services.jobs_dispatch_due() == [job.pk]  # eager: runs here
    queued_batch.refresh_from_db()
    assert queued_batch.status == BatchStatus.SUCCEEDED and queued_batch.rows_loaded == 4
    job.refresh_from_db()
    assert (job.state, job.runs) == (Job.State.DONE, 2)


def test_the_reaper_gives_up_after_max_runs_and_fails_the_record_with_the_reason(
    queued_batch, settings
):
    job = _running(queued_batch.pk, owner="another-host:1:x", expires_in=-1, runs=3)
    assert job.max_runs == 3
    services.jobs_reap()
    job.refresh_from_db()
    queued_batch.refresh_from_db()
    assert job.state == Job.State.FAILED
    assert queued_batch.status == BatchStatus.FAILED
    assert "gave up after 3 attempt(s)" in queued_batch.error
    assert "stopped without finishing" in queued_batch.error
    assert "Nothing was loaded" in queued_batch.error
    assert not Observation.objects.exists()


def test_a_sent_job_never_started_is_sent_again_later(queued_batch, settings):
    def sent(seconds_ago: float) -> Job:
        moment = timezone.now() - datetime.timedelta(seconds=seconds_ago)
        Job.objects.filter(object_id=queued_batch.pk).update(
            state=Job.State.SENT, sent_at=moment, available_at=moment, send_attempts=1
        )
        return Job.objects.get(object_id=queued_batch.pk)

    sent(10)
    assert services.jobs_dispatch_due() == []  # only just sent: its message is on its way
    job = sent(settings.MLGOV_JOB_RESEND_SECONDS + 5)  # lost with the broker's memory
    assert services.jobs_dispatch_due() == [job.pk]
    queued_batch.refresh_from_db()
    assert queued_batch.status == BatchStatus.SUCCEEDED


def test_a_job_not_due_yet_is_not_run_by_an_early_message(queued_batch):
    later = timezone.now() + datetime.timedelta(minutes=5)
    Job.objects.filter(object_id=queued_batch.pk).update(available_at=later)
    assert services.job_claim(task=TASK, object_id=queued_batch.pk) is None
    assert services.job_claim(task=TASK, object_id=queued_batch.pk, eager=True) is not None
