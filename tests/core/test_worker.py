"""Task integration against a real Celery worker, Redis broker and the PostgreSQL test database."""

import pytest

from mlgov.celery import app
from tests.celery_worker import running_worker

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def real_broker():
    app.conf.task_always_eager = False
    yield
    app.conf.task_always_eager = True


def test_it_answers_a_ping_through_the_worker(real_broker):
    with running_worker() as queue:
        result = app.send_task("core.ping", queue=queue)
        assert result.get(timeout=30) == "pong"


def test_the_worker_verifies_the_audit_chain_written_by_this_process(real_broker, validator):
    from apps.inventory.services import registered_model_create
    from tests.factories import BusinessUnitFactory, UserFactory

    owner = UserFactory(username="worker.owner", roles=["model_owner"])
    bo = UserFactory(username="worker.bo", roles=["business_owner"])
    for n in range(3):
        registered_model_create(
            actor=owner,
            slug=f"worker-model-{n}",
            name=f"Worker model {n}",
            purpose="Checks the worker reads the same chain.",
            business_unit=BusinessUnitFactory(),
            business_owner=bo,
        )
    with running_worker() as queue:
        result = app.send_task("audit.verify_audit_chain", queue=queue)
        outcome = result.get(timeout=60)
    assert outcome["ok"] is True
    assert outcome["count"] == 3
