"""The daily scan: reminders at 30/7/0 days, weekly escalations, each sent exactly once."""

import datetime as dt

import pytest
from django.core import mail

from apps.notifications.choices import Event
from apps.notifications.models import Notification
from apps.reviews.choices import ReminderKind
from apps.reviews.models import ReminderLog
from apps.reviews.services import reviews_scan
from apps.reviews.tasks import scan_due
from tests.factories import RegisteredModelFactory

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 6, 1)


@pytest.fixture
def due_model(tier2_model):
    tier2_model.next_review_date = TODAY + dt.timedelta(days=30)
    tier2_model.save()
    return tier2_model


def _scan(day, capture):
    with capture(execute=True):
        return reviews_scan(today=day)


def test_a_second_run_the_same_day_sends_nothing(due_model, django_capture_on_commit_callbacks):
    assert _scan(TODAY, django_capture_on_commit_callbacks)["review.due"] == 1
    sent = Notification.objects.count()
    assert sent == 3  # owner, business owner, validator
    assert len(mail.outbox) == 3
    assert _scan(TODAY, django_capture_on_commit_callbacks) == {
        "review.due": 0,
        "review.overdue": 0,
        "finding.overdue": 0,
    }
    assert Notification.objects.count() == sent and len(mail.outbox) == 3


def test_reminders_go_at_30_7_and_0_days_then_escalations_weekly(
    due_model, admin_user, django_capture_on_commit_callbacks
):
    due = due_model.next_review_date
    for offset in range(-30, 16):  # every day from 30 days before to 15 days after
        _scan(due + dt.timedelta(days=offset), django_capture_on_commit_callbacks)
        _scan(due + dt.timedelta(days=offset), django_capture_on_commit_callbacks)  # twice
    logs = ReminderLog.objects.order_by("sent_at", "pk")
    assert [(log.kind, log.threshold) for log in logs] == [
        (ReminderKind.REVIEW_REMINDER, 30),
        (ReminderKind.REVIEW_REMINDER, 7),
        (ReminderKind.REVIEW_REMINDER, 0),
        (ReminderKind.REVIEW_ESCALATION, 1),
        (ReminderKind.REVIEW_ESCALATION, 8),
        (ReminderKind.REVIEW_ESCALATION, 15),
    ]
    escalations = Notification.objects.filter(event=Event.REVIEW_OVERDUE)
    # The validator, the business owner and the administrator, three times each: while
    # unread, the repeats of one escalation are one notification counting them.
    assert escalations.count() == 3
    assert sorted(escalations.values_list("count", flat=True)) == [3, 3, 3]
    assert escalations.get(recipient=admin_user).count == 3
    assert not Notification.objects.filter(event=Event.REVIEW_OVERDUE, recipient=due_model.owner)


def test_a_new_due_date_starts_a_new_series(due_model, django_capture_on_commit_callbacks):
    _scan(TODAY, django_capture_on_commit_callbacks)
    due_model.next_review_date = TODAY + dt.timedelta(days=25)
    due_model.save()
    assert _scan(TODAY, django_capture_on_commit_callbacks)["review.due"] == 1


def test_retired_models_are_not_reminded(due_model, django_capture_on_commit_callbacks):
    due_model.status = "retired"
    due_model.save()
    assert _scan(TODAY, django_capture_on_commit_callbacks)["review.due"] == 0


def test_overdue_findings_are_notified_once_a_week(
    tier2_model, validator, model_owner, django_capture_on_commit_callbacks
):
    from apps.reviews.services import finding_create

    finding_create(
        actor=validator,
        model=tier2_model,
        title="Missing monitoring",
        severity="medium",
        description="No drift alerting.",
        owner=model_owner,
        due_date=TODAY,
    )
    counts = [
        _scan(TODAY + dt.timedelta(days=n), django_capture_on_commit_callbacks)["finding.overdue"]
        for n in range(0, 10)
    ]
    assert counts == [0, 1, 0, 0, 0, 0, 0, 0, 1, 0]
    assert Notification.objects.filter(event=Event.FINDING_OVERDUE, recipient=model_owner).count()


def test_the_task_runs_the_scan(django_capture_on_commit_callbacks):
    RegisteredModelFactory(next_review_date=dt.date.today())
    assert scan_due.delay().get()["review.due"] == 1
