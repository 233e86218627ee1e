"""The audit log pages: who may read and verify, filters, keyset pages, readable changes,
queries; verification runs in the background (POST starts one, its page shows progress and
then the result)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.audit.models import AuditEvent, ChainVerification
from apps.audit.services import audit_checkpoint_write
from apps.inventory import services
from tests.audit.tamper import forge_message, truncate_and_reset_head
from tests.factories import RegisteredModelFactory

LIST = reverse("audit:event_list")
VERIFY = reverse("audit:verify")


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def verify(client, capture, **data):
    """POST the button (the job runs in process on commit) and read the run's page."""
    with capture(execute=True):
        started = client.post(VERIFY, data)
    assert started.status_code == 302
    return client.get(started["Location"])


@pytest.fixture
def edited(validator, owned_model):
    services.registered_model_update(actor=validator, model=owned_model, purpose="New purpose.")
    return owned_model


def test_anonymous_users_go_to_login(client, db):
    assert client.get(LIST).status_code == 302
    assert client.post(VERIFY).status_code == 302


@pytest.mark.parametrize("persona", ["admin_user", "validator", "auditor"])
def test_audit_readers_see_the_log_and_verify(
    client, request, edited, persona, django_capture_on_commit_callbacks
):
    client.force_login(request.getfixturevalue(persona))
    response = client.get(LIST)
    assert response.status_code == 200
    assert b"New purpose." in response.content
    page = verify(client, django_capture_on_commit_callbacks)
    assert page.status_code == 200
    assert b"The chain is intact" in page.content
    assert b"1 event checked (sequence 1\xe2\x80\x931)" in page.content
    assert b"Verify the chain now" in client.get(VERIFY).content


@pytest.mark.parametrize("persona", ["viewer", "model_owner", "business_owner", "outsider"])
def test_others_are_refused(client, db, request, persona):
    client.force_login(request.getfixturevalue(persona))
    assert client.get(LIST).status_code == 403
    assert client.post(VERIFY).status_code == 403


def test_the_verify_page_lists_the_latest_runs(
    client, auditor, edited, django_capture_on_commit_callbacks
):
    client.force_login(auditor)
    assert b"No verification has run yet" in client.get(VERIFY).content
    verify(client, django_capture_on_commit_callbacks)
    verify(client, django_capture_on_commit_callbacks, full="1")
    content = client.get(VERIFY).content.decode()
    assert content.count("Intact") == 2 and "Full" in content and "Incremental" in content
    assert client.put(VERIFY).status_code == 405


def test_the_button_answers_with_the_run_already_waiting(client, auditor, validator, edited):
    client.force_login(auditor)
    first = client.post(VERIFY)  # not committed here: the run stays queued
    run = ChainVerification.objects.get()
    assert first["Location"] == reverse("audit:verification", args=[run.pk])
    page = client.get(first["Location"]).content.decode()
    assert "Waiting for a worker" in page and 'hx-trigger="every 2s"' in page
    client.force_login(validator)
    assert client.post(VERIFY, {"full": "1"})["Location"] == first["Location"]
    assert ChainVerification.objects.count() == 1


def test_a_running_verification_shows_its_progress(client, auditor, edited):
    run = ChainVerification.objects.create(
        trigger="web", status="running", base_sequence=0, target_sequence=40, total=40, verified=10
    )
    client.force_login(auditor)
    page = client.get(reverse("audit:verification", args=[run.pk])).content.decode()
    assert "10 of 40 events verified (25%)" in page
    assert client.get(reverse("audit:verification", args=[run.pk + 1])).status_code == 404


def test_a_given_up_verification_says_why(client, auditor, edited):
    from apps.audit.services import verification_fail

    run = ChainVerification.objects.create(trigger="web", active=True)
    verification_fail(verification_id=run.pk, error="mlgov gave up after 3 attempt(s).")
    run.refresh_from_db()
    assert (run.status, run.active) == ("failed", None)
    client.force_login(auditor)
    page = client.get(reverse("audit:verification", args=[run.pk])).content.decode()
    assert "could not run" in page and "gave up after 3 attempt(s)" in page


def test_verify_reports_a_tampered_event(
    client, auditor, edited, django_capture_on_commit_callbacks
):
    event = AuditEvent.objects.order_by("sequence").first()
    forge_message(event.pk)
    client.force_login(auditor)
    response = verify(client, django_capture_on_commit_callbacks)
    assert b"The chain is broken" in response.content
    assert f"sequence {event.sequence}".encode() in response.content


def test_changes_show_names_instead_of_ids(client, auditor, admin_user, owned_model, validator):
    services.registered_model_update(actor=admin_user, model=owned_model, validator=validator)
    client.force_login(auditor)
    content = client.get(LIST, {"object_type": "inventory.registeredmodel"}).content.decode()
    assert "val.validator" in content


def test_it_filters_by_type_actor_and_date(client, auditor, admin_user, edited):
    RegisteredModelFactory()  # not audited: built directly
    client.force_login(auditor)

    def actions(query):
        return [row.event.actor_username for row in client.get(LIST, query).context["events"]]

    assert actions({"actor": "val.validator"}) == ["val.validator"]
    assert actions({"actor": "nobody"}) == []
    assert actions({"object_type": "inventory.registeredmodel"}) == ["val.validator"]
    today = timezone.localdate()
    assert actions({"date_from": today.isoformat(), "date_to": today.isoformat()}) == [
        "val.validator"
    ]
    tomorrow = today + dt.timedelta(days=1)
    assert actions({"date_from": tomorrow.isoformat()}) == []


def test_a_reversed_date_range_is_explained(client, auditor):
    client.force_login(auditor)
    response = client.get(LIST, {"date_from": "2026-02-02", "date_to": "2026-01-01"})
    assert "date_to" in response.context["form"].errors


@pytest.mark.parametrize("rows", [3, 30])
def test_the_log_query_count_is_constant(
    client, auditor, admin_user, owned_model, rows, django_assert_max_num_queries
):
    for i in range(rows):
        services.registered_model_update(actor=admin_user, model=owned_model, purpose=f"P{i}")
    client.force_login(auditor)
    with django_assert_max_num_queries(12):
        assert client.get(LIST).status_code == 200


def test_stored_times_in_changes_are_shown_in_the_users_zone(
    client, auditor, validator, owned_model
):
    auditor.timezone = "Asia/Tokyo"
    auditor.save()
    services.registered_model_transition(actor=validator, model=owned_model, target="validation")
    client.force_login(auditor)
    event = AuditEvent.objects.get(action="transition")
    raw = event.changes["validation_started_at"]["after"]
    content = client.get(LIST).content.decode()
    assert raw not in content
    local = timezone.localtime(event.occurred_at, timezone=dt.timezone(dt.timedelta(hours=9)))
    assert local.strftime("%H:%M") in content


def test_verify_shows_the_checkpoint_verdict(
    client, auditor, edited, django_capture_on_commit_callbacks
):
    client.force_login(auditor)
    capture = django_capture_on_commit_callbacks
    assert b"Not compared with a signed checkpoint" in verify(client, capture).content
    audit_checkpoint_write(reason="test")
    assert b"Signed checkpoint verified" in verify(client, capture).content
    truncate_and_reset_head()
    content = verify(client, capture).content.decode()
    assert "The chain contradicts a signed checkpoint" in content
    assert "events were removed" in content


# --- keyset pages, filters from the registry, jumping to a day -------------------------------


def _sequences(response) -> list[int]:
    return [row.event.sequence for row in response.context["events"]]


def _history(actor, model, count: int, start: dt.datetime | None = None):
    from apps.core import clock

    for i in range(count):
        if start is None:
            services.registered_model_update(actor=actor, model=model, purpose=f"P{i}")
        else:
            moment = start + dt.timedelta(hours=i)
            with clock.reading(lambda moment=moment: moment):
                services.registered_model_update(actor=actor, model=model, purpose=f"P{i}")


def test_pages_go_older_and_newer_by_sequence(client, auditor, admin_user, owned_model):
    _history(admin_user, owned_model, 60)
    client.force_login(auditor)
    first = client.get(LIST)
    assert _sequences(first) == list(range(60, 35, -1))
    assert "Showing" not in first.content.decode()  # no count of the whole trail
    page = first.context["page"]
    assert (page.older, page.newer) == (36, None)
    second = client.get(LIST, {"before": page.older})
    assert _sequences(second) == list(range(35, 10, -1))
    third = client.get(LIST, {"before": second.context["page"].older})
    assert _sequences(third) == list(range(10, 0, -1))
    assert third.context["page"].older is None
    back = client.get(LIST, {"after": second.context["page"].newer})
    assert _sequences(back) == list(range(60, 35, -1))
    assert back.context["page"].newer is None
    assert _sequences(client.get(LIST, {"before": "junk"})) == list(range(60, 35, -1))
    content = second.content.decode()
    assert "?before=11" in content and "?after=35" in content


def test_a_filtered_page_keeps_its_filter_in_the_links(client, auditor, admin_user, validator):
    model = RegisteredModelFactory(slug="filtered-model")
    _history(admin_user, model, 30)
    _history(validator, model, 3)
    client.force_login(auditor)
    shouted = admin_user.username.upper()
    response = client.get(LIST, {"actor": shouted, "model": "filtered-model"})
    assert _sequences(response) == list(range(30, 5, -1))
    assert f"actor={shouted}" in response.content.decode()
    assert _sequences(client.get(LIST, {"model": "no-such-model"})) == []
    assert _sequences(client.get(LIST, {"action": "update", "actor": "val.validator"})) == [
        33,
        32,
        31,
    ]
    assert _sequences(client.get(LIST, {"action": "delete"})) == []


def test_the_object_types_come_from_the_registry_not_the_trail(client, auditor, db):
    client.force_login(auditor)
    choices = dict(client.get(LIST).context["form"].fields["object_type"].choices)
    assert {"inventory.registeredmodel", "inventory.modelversion", "accounts.user"} <= set(choices)
    assert not AuditEvent.objects.exists()


def test_it_jumps_to_a_day(client, auditor, admin_user, owned_model):
    start = dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)
    _history(admin_user, owned_model, 72, start=start)  # three days, one event an hour
    client.force_login(auditor)
    response = client.get(LIST, {"on": "2026-03-02"})
    events = response.context["events"]
    assert events[0].event.occurred_at == dt.datetime(2026, 3, 2, 23, tzinfo=dt.UTC)
    assert len(events) == 25 and response.context["page"].newer == 36
    assert _sequences(client.get(LIST, {"on": "2026-02-01"})) == []


@pytest.mark.parametrize("rows", [3, 80])
def test_a_late_page_costs_what_the_first_costs(
    client, auditor, admin_user, owned_model, rows, django_assert_max_num_queries
):
    _history(admin_user, owned_model, rows)
    client.force_login(auditor)
    with django_assert_max_num_queries(12):
        assert client.get(LIST, {"before": 5, "actor": admin_user.username}).status_code == 200
    with django_assert_max_num_queries(12):
        assert client.get(LIST, {"model": "owned-model", "on": "2030-01-01"}).status_code == 200


@pytest.mark.parametrize("runs", [1, 12])
def test_the_verify_pages_cost_the_same_queries_for_more_runs(
    client, auditor, edited, runs, django_assert_max_num_queries
):
    for _ in range(runs):
        run = ChainVerification.objects.create(trigger="command", status="done", ok=True)
    client.force_login(auditor)
    with django_assert_max_num_queries(10):
        assert client.get(VERIFY).status_code == 200
    with django_assert_max_num_queries(10):
        assert client.get(reverse("audit:verification", args=[run.pk])).status_code == 200


def test_a_models_history_tab_pages_by_sequence(
    client, auditor, admin_user, owned_model, django_assert_max_num_queries
):
    """The inventory's History tab reads one model's events a page at a time on the
    (model_ref, sequence) index: newer/older links, no count."""
    other = RegisteredModelFactory(slug="other-model")
    _history(admin_user, owned_model, 30)
    _history(admin_user, other, 5)
    url = reverse("inventory:model_history", args=[owned_model.slug])
    client.force_login(auditor)
    first = client.get(url)
    assert _sequences(first) == list(range(30, 5, -1))
    assert "?before=6" in first.content.decode()
    with django_assert_max_num_queries(13):
        rest = client.get(url, {"before": 6})
    assert _sequences(rest) == [5, 4, 3, 2, 1]
    assert rest.context["page"].older is None and "?after=5" in rest.content.decode()


def test_the_log_names_the_last_verification(
    client, auditor, edited, django_capture_on_commit_callbacks
):
    client.force_login(auditor)
    assert "Last verification" not in client.get(LIST).content.decode()
    verify(client, django_capture_on_commit_callbacks)
    run = ChainVerification.objects.get()
    content = client.get(LIST).content.decode()
    assert f'Last verification: <a href="{reverse("audit:verification", args=[run.pk])}">' in (
        content
    )
    assert "intact up to sequence 1" in content
