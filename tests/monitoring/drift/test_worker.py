"""The drift job on a real Celery worker (Redis broker, PostgreSQL test database)."""

from __future__ import annotations

import pytest

from apps.monitoring.drift import services
from apps.monitoring.models import DriftRun, Observation
from mlgov.celery import app
from tests.celery_worker import running_worker
from tests.monitoring.drift.factories import csv_upload, samples

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def real_broker(settings, monkeypatch):
    # The worker reads the uploaded files from the same media folder.
    monkeypatch.setenv("DJANGO_MEDIA_ROOT", str(settings.MEDIA_ROOT))
    app.conf.task_always_eager = False
    yield
    app.conf.task_always_eager = True


def test_the_worker_computes_a_run_once(real_broker, monkeypatch):
    from tests.factories import ModelVersionFactory, RegisteredModelFactory, UserFactory

    owner = UserFactory(username="worker.drift", roles=["model_owner"])
    version = ModelVersionFactory(model=RegisteredModelFactory(slug="worker-drift", owner=owner))
    # Sent below to the worker's private queue instead of the default one.
    monkeypatch.setattr(services, "job_enqueue", lambda **kwargs: None)
    ref, cur = samples()
    run = services.drift_run_create(
        user=owner, version=version, reference=csv_upload(ref), current=csv_upload(cur)
    )
    with running_worker() as queue:
        first = app.send_task("monitoring.run_drift", args=[run.pk], queue=queue)
        second = app.send_task("monitoring.run_drift", args=[run.pk], queue=queue)
        assert (first.get(timeout=120), second.get(timeout=120)) == ("succeeded", "succeeded")
    run = DriftRun.objects.get(pk=run.pk)
    assert run.columns.count() == 2 and run.task_id == first.id
    assert Observation.objects.filter(batch=run.batch).count() == 5
