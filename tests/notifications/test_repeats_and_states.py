"""Repeats of one event about one thing are one unread item; the list says where each thing
stands now; the navigation shows the unread count; settled requests stop asking."""

import importlib

import pytest
from django.apps import apps as django_apps
from django.urls import reverse

from apps.approvals.services import approval_decide
from apps.notifications.choices import Event
from apps.notifications.models import Notification
from apps.notifications.selectors import unread_count
from apps.notifications.services import notify
from apps.reviews import services as review_services
from tests.factories import RegisteredModelFactory, UserFactory

pytestmark = pytest.mark.django_db
PASSWORD = "correct-horse-battery"


def _submit_review(model, actor):
    review = review_services.review_create(actor=actor, model=model, scope="Annual")
    review_services.review_update(actor=actor, review=review, outcome="satisfactory", notes="ok")
    return review_services.review_submit(actor=actor, review=review)


@pytest.fixture
def tier1(model_owner, business_owner, validator):
    return RegisteredModelFactory(
        owner=model_owner, business_owner=business_owner, validator=validator, risk_tier=1
    )


def test_it_counts_a_repeat_on_the_unread_item_instead_of_adding_one(validator):
    for days in (30, 7, 1):
        notify(
            recipients=[validator],
            event=Event.REVIEW_DUE,
            subject_text=f"Periodic review of Churn is due in {days} day(s).",
            link="/models/churn/reviews/",
        )
    only = Notification.objects.get(recipient=validator)
    assert only.count == 3
    assert only.text == "Periodic review of Churn is due in 1 day(s)."
    assert only.latest_at >= only.created_at


def test_it_keeps_apart_other_things_other_events_and_read_items(validator, auditor):
    def tell(link, event=Event.REVIEW_DUE, who=(validator,)):
        notify(recipients=list(who), event=event, subject_text="due", link=link)

    tell("/models/churn/reviews/", who=(validator, auditor))
    tell("/models/fraud/reviews/")
    tell("/models/churn/reviews/", event=Event.REVIEW_OVERDUE)
    Notification.objects.filter(recipient=validator).update(read_at="2026-01-01T00:00Z")
    tell("/models/churn/reviews/", who=(validator, auditor))
    assert Notification.objects.filter(recipient=validator).count() == 4
    assert Notification.objects.get(recipient=validator, read_at__isnull=True).count == 1
    assert Notification.objects.get(recipient=auditor).count == 2


def test_it_merges_repeats_without_a_link_by_their_text(validator):
    for text in ("same", "same", "other"):
        notify(recipients=[validator], event=Event.FINDING_OVERDUE, subject_text=text)
    assert sorted(Notification.objects.values_list("text", "count")) == [
        ("other", 1),
        ("same", 2),
    ]


def test_a_closed_request_settles_every_request_to_approve_it(admin_user, validator):
    owner = UserFactory(username="bo.tier3", roles=["business_owner"])
    model = RegisteredModelFactory(business_owner=owner, validator=validator, risk_tier=3)
    request = _submit_review(model, admin_user)
    asked = Notification.objects.filter(event=Event.APPROVAL_REQUESTED, read_at__isnull=True)
    assert asked.exists()
    while request.is_open:
        approver = asked.exclude(recipient=admin_user).first().recipient
        approval_decide(actor=approver, request=request, verdict="approve", password=PASSWORD)
        request.refresh_from_db()
    assert not asked.exists()
    decided = Notification.objects.get(event=Event.APPROVAL_DECIDED, recipient=admin_user)
    assert decided.read_at is None


def test_the_list_says_where_each_request_stands_now(
    client, tier1, admin_user, validator, business_owner, django_assert_max_num_queries
):
    request = _submit_review(tier1, admin_user)
    approval_decide(actor=validator, request=request, verdict="approve", password=PASSWORD)
    client.force_login(business_owner)
    page = client.get(reverse("notifications:list"))
    assert "approved so far by" in page.content.decode()
    approval_decide(actor=business_owner, request=request, verdict="approve", password=PASSWORD)
    client.force_login(admin_user)
    body = client.get(reverse("notifications:list")).content.decode()
    assert "Now approved by" in body
    assert (validator.get_full_name() or validator.username) in body


def test_the_list_reads_states_in_bulk_whatever_the_page_holds(
    client, admin_user, validator, django_assert_max_num_queries
):
    for n in range(4):
        model = RegisteredModelFactory(validator=validator, risk_tier=1)
        _submit_review(model, admin_user)
        notify(
            recipients=[validator],
            event=Event.THRESHOLD_WARNING,
            subject_text=f"warning {n}",
            link=f"/thresholds/{n}/",
        )
    client.force_login(validator)
    client.get(reverse("dashboard:home"))  # a page showing the badge, as any later page
    with django_assert_max_num_queries(10) as few:
        page = client.get(reverse("notifications:list"))
    for _ in range(12):
        model = RegisteredModelFactory(validator=validator, risk_tier=1)
        _submit_review(model, admin_user)
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = client.get(reverse("notifications:list"))
    assert page.content.decode().count("Still pending") == 16


def test_the_navigation_shows_the_unread_count_and_follows_marking(client, validator):
    notify(recipients=[validator], event=Event.REVIEW_DUE, subject_text="a", link="/a/")
    notify(recipients=[validator], event=Event.REVIEW_DUE, subject_text="b", link="/b/")
    client.force_login(validator)
    page = client.get(reverse("dashboard:home")).content.decode()
    assert '<span class="badge badge--warn nav-count">2<span class="visually-hidden"> unread' in (
        page
    )
    first = Notification.objects.filter(recipient=validator).first()
    client.post(reverse("notifications:mark_read", args=[first.pk]))
    assert 'nav-count">1<' in client.get(reverse("dashboard:home")).content.decode()
    notify(recipients=[validator], event=Event.REVIEW_DUE, subject_text="c", link="/c/")
    assert 'nav-count">2<' in client.get(reverse("dashboard:home")).content.decode()
    client.post(reverse("notifications:mark_all_read"))
    assert "nav-count" not in client.get(reverse("dashboard:home")).content.decode()
    assert unread_count(user=validator) == 0


def test_the_badge_costs_at_most_one_query(client, validator, django_assert_num_queries):
    from django.template import Context, Template
    from django.test import RequestFactory

    from apps.approvals.context_processors import approvals
    from apps.core import roles

    request = RequestFactory().get("/")
    request.user = validator
    roles.roles_of(validator)  # a page has read its user's roles already
    template = Template(
        "{% load notifications %}{% unread_notifications as n %}{{ n }}/{{ approvals_waiting }}"
    )
    # The unread count and the approvals waiting, in one query together.
    with django_assert_num_queries(1):
        assert template.render(Context({"request": request, **approvals(request)})) == "0/0"
    # Each page counts them again (no cache to go stale), still in one query.
    again = RequestFactory().get("/")
    again.user = validator
    with django_assert_num_queries(1):
        assert template.render(Context({"request": again, **approvals(again)})) == "0/0"
    with django_assert_num_queries(0):
        assert template.render(Context({"request": again})) == "0/"


def test_marking_read_takes_a_post_and_only_ones_own(client, validator, auditor):
    notify(recipients=[validator, auditor], event=Event.REVIEW_DUE, subject_text="x", link="/x/")
    theirs = Notification.objects.get(recipient=auditor)
    mine = Notification.objects.get(recipient=validator)
    client.force_login(validator)
    assert client.get(reverse("notifications:mark_read", args=[mine.pk])).status_code == 405
    assert client.get(reverse("notifications:mark_all_read")).status_code == 405
    assert client.post(reverse("notifications:mark_read", args=[theirs.pk])).status_code == 404
    client.post(reverse("notifications:mark_all_read"))
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_the_migration_merges_existing_repeats_and_settles_decided_requests(
    tier1, admin_user, validator, business_owner
):
    request = _submit_review(tier1, admin_user)
    request.status = "approved"
    request.save(update_fields=["status"])
    for _ in range(3):
        Notification.objects.create(
            recipient=validator, event=Event.REVIEW_DUE, text="due", link="/r/"
        )
    Notification.objects.create(recipient=auditor_like(), event=Event.REVIEW_DUE, text="d")
    migration = importlib.import_module(
        "apps.notifications.migrations.0004_notification_repeats_merged"
    )
    migration.merge(django_apps, None)
    due = Notification.objects.get(recipient=validator, event=Event.REVIEW_DUE)
    assert due.count == 3
    assert not Notification.objects.filter(
        event=Event.APPROVAL_REQUESTED, read_at__isnull=True
    ).exists()


def auditor_like():
    return UserFactory(username="someone.else", roles=["auditor"])


def test_incidents_and_findings_say_where_they_stand(
    client, validator, model_owner, django_assert_max_num_queries
):
    import datetime as dt

    from django.utils import timezone

    from apps.incidents.models import Incident
    from apps.reviews.models import Finding

    model = RegisteredModelFactory(validator=validator)
    incident = Incident.objects.create(
        reference="INC-2026-0042",
        model=model,
        title="Recall breach",
        severity="sev2",
        detected_at=timezone.now(),
        assignee=model_owner,
        status="investigating",
    )
    finding = Finding.objects.create(
        model=model,
        title="Rural segment",
        severity="low",
        description="d",
        owner=validator,
        due_date=dt.date(2026, 1, 31),
        created_by=validator,
        status="remediated",
    )
    notify(
        recipients=[validator],
        event=Event.INCIDENT_OPENED,
        subject_text="Incident opened",
        link=incident.get_absolute_url(),
        payload={"incident": incident.reference},
    )
    notify(
        recipients=[validator],
        event=Event.FINDING_OVERDUE,
        subject_text="Finding overdue",
        link=finding.get_absolute_url(),
        payload={"finding": finding.pk},
    )
    client.force_login(validator)
    body = client.get(reverse("notifications:list")).content.decode()
    owner_name = model_owner.get_full_name() or model_owner.username
    assert f"Now investigating, assigned to {owner_name}" in body
    assert "Now remediated" in body and "Nothing left to do." in body


def test_opening_an_unread_one_marks_it_read_and_goes_to_its_page(client, validator):
    notify(recipients=[validator], event=Event.REVIEW_DUE, subject_text="<b>due</b>", link="/r/")
    mine = Notification.objects.get(recipient=validator)
    client.force_login(validator)
    body = client.get(reverse("notifications:list")).content.decode()
    assert f'action="{reverse("notifications:mark_read", args=[mine.pk])}"' in body
    assert "&lt;b&gt;due&lt;/b&gt;" in body and "<b>due</b>" not in body
    opened = client.post(reverse("notifications:mark_read", args=[mine.pk]))
    assert opened.status_code == 302 and opened["Location"] == "/r/"
    mine.refresh_from_db()
    assert mine.read_at is not None
    assert 'href="/r/"' in client.get(reverse("notifications:list")).content.decode()


def test_threshold_warnings_say_where_the_threshold_stands_now(client, validator):
    from django.utils import timezone

    from apps.monitoring.models import ThresholdState
    from tests.factories import ModelVersionFactory
    from tests.monitoring.factories import ThresholdFactory

    model = RegisteredModelFactory(validator=validator)
    version = ModelVersionFactory(model=model, version="2.0.0")
    threshold = ThresholdFactory(model=model)
    now = timezone.now()
    ThresholdState.objects.create(
        threshold=threshold, version=version, state="ok", value=0.81, since=now, evaluated_at=now
    )
    notify(
        recipients=[validator],
        event=Event.THRESHOLD_WARNING,
        subject_text="recall is in warning",
        link=threshold.get_absolute_url(),
        payload={"threshold": threshold.pk, "version": "2.0.0", "value": 0.7},
    )
    client.force_login(validator)
    body = client.get(reverse("notifications:list")).content.decode()
    assert "Now OK at 0.81" in body and "Nothing left to do." in body
