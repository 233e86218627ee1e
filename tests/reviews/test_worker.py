"""The daily scan on a real Celery worker (Redis broker, PostgreSQL test database)."""

import datetime as dt

import pytest

from apps.notifications.models import Notification
from apps.reviews.models import ReminderLog
from mlgov.celery import app
from tests.celery_worker import running_worker

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def real_broker():
    app.conf.task_always_eager = False
    yield
    app.conf.task_always_eager = True


def test_the_worker_sends_reminders_and_escalations_once(real_broker):
    from tests.factories import RegisteredModelFactory, UserFactory

    validator = UserFactory(username="worker.validator", roles=["validator"])
    admin = UserFactory(username="worker.admin", roles=["admin"])
    today = dt.date.today()
    due_soon = RegisteredModelFactory(
        slug="worker-due", validator=validator, next_review_date=today + dt.timedelta(days=7)
    )
    overdue = RegisteredModelFactory(
        slug="worker-overdue", validator=validator, next_review_date=today - dt.timedelta(days=3)
    )
    with running_worker() as queue:
        first = app.send_task("reviews.scan_due", queue=queue).get(timeout=60)
        second = app.send_task("reviews.scan_due", queue=queue).get(timeout=60)
    assert first == {"review.due": 1, "review.overdue": 1, "finding.overdue": 0}
    assert second == {"review.due": 0, "review.overdue": 0, "finding.overdue": 0}
    assert ReminderLog.objects.filter(model=due_soon, threshold=7).count() == 1
    assert ReminderLog.objects.filter(model=overdue, threshold=1).count() == 1
    assert Notification.objects.filter(recipient=admin, event="review.overdue").count() == 1
    assert Notification.objects.filter(recipient=validator).count() == 2
