"""API: /api/v1/audit-events/ (read the trail, a cursor page at a time) and
/api/v1/audit-events/verify/ (POST starts a verification run by a worker, GET reads the latest;
/api/v1/audit-verifications/{id}/ polls one)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from apps.audit.models import AuditEvent, ChainVerification
from apps.audit.services import audit_checkpoint_write
from apps.inventory import services
from tests.audit.tamper import edit_and_rehash, forge_message
from tests.factories import BusinessUnitFactory

pytestmark = pytest.mark.django_db

LIST = "/api/v1/audit-events/"
VERIFY = "/api/v1/audit-events/verify/"
READERS = ["admin_user", "validator", "auditor"]
NON_READERS = ["business_owner", "model_owner", "viewer"]


def api(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_login(user)
    return client


def _register(actor, slug: str, business_owner):
    return services.registered_model_create(
        actor=actor,
        slug=slug,
        name=f"Model {slug}",
        purpose="Testing the audit trail.",
        business_unit=BusinessUnitFactory(code="ops", name="Operations"),
        business_owner=business_owner,
    )


@pytest.fixture
def history(model_owner, business_owner, validator):
    """Two models registered by the model owner; the validator edits one of them."""
    first = _register(model_owner, "first-model", business_owner)
    _register(model_owner, "second-model", business_owner)
    services.registered_model_update(actor=validator, model=first, purpose="Sharper.")
    return first


def _tamper(event: AuditEvent) -> None:
    forge_message(event.pk, "edited")


# --- list and retrieve --------------------------------------------------------------------


@pytest.mark.parametrize("persona", READERS)
def test_audit_readers_list_events_newest_first(request, persona, history):
    rows = api(request.getfixturevalue(persona)).get(LIST).json()["results"]
    assert [row["sequence"] for row in rows] == [3, 2, 1]
    newest = rows[0]
    assert newest["actor"] == "val.validator"
    assert newest["action"] == "update"
    assert newest["model"] == "first-model"
    assert newest["changes"]["purpose"]["after"] == "Sharper."
    assert len(newest["hash"]) == 64
    assert newest["prev_hash"] == rows[1]["hash"]


@pytest.mark.parametrize("persona", NON_READERS)
def test_other_roles_get_403(request, persona, history):
    client = api(request.getfixturevalue(persona))
    assert client.get(LIST).status_code == 403
    event = AuditEvent.objects.first()
    assert client.get(reverse("api:audit-event-detail", kwargs={"pk": event.pk})).status_code == (
        403
    )
    assert client.get(VERIFY).status_code == 403
    assert client.post(VERIFY, {}, format="json").status_code == 403
    assert not ChainVerification.objects.exists()


def test_anonymous_requests_get_401(history):
    assert api().get(LIST).status_code == 401
    assert api().get(VERIFY).status_code == 401


def test_an_auditor_reads_one_event(auditor, history):
    event = AuditEvent.objects.get(sequence=1)
    body = api(auditor).get(reverse("api:audit-event-detail", kwargs={"pk": event.pk})).json()
    assert body["object_type"] == "inventory.registeredmodel"
    assert body["model"] == "first-model"
    assert body["hash"] == event.hash


def test_an_unknown_event_answers_404(auditor):
    assert api(auditor).get(reverse("api:audit-event-detail", kwargs={"pk": 999})).status_code == (
        404
    )


def test_audit_events_cannot_be_written_through_the_api(admin_user, history):
    client = api(admin_user)
    event = AuditEvent.objects.first()
    detail = reverse("api:audit-event-detail", kwargs={"pk": event.pk})
    assert client.post(LIST, {"action": "create"}, format="json").status_code == 405
    assert client.patch(detail, {"message": "x"}, format="json").status_code == 405
    assert client.delete(detail).status_code == 405


def test_it_filters_by_model_actor_and_object_type(auditor, history):
    client = api(auditor)

    def sequences(**query):
        return [row["sequence"] for row in client.get(LIST, query).json()["results"]]

    assert sequences(model="first-model") == [3, 1]
    assert sequences(model="no-such-model") == []
    assert sequences(actor="val.validator") == [3]
    assert sequences(object_type="inventory.registeredmodel", action="create") == [2, 1]


def test_it_filters_by_time_window(auditor, history):
    client = api(auditor)
    now = timezone.now()
    later = (now + timedelta(hours=1)).isoformat()
    earlier = (now - timedelta(hours=1)).isoformat()
    assert client.get(LIST, {"since": later}).json()["results"] == []
    assert len(client.get(LIST, {"since": earlier, "until": later}).json()["results"]) == 3


def test_a_bad_filter_value_is_named(auditor, history):
    response = api(auditor).get(LIST, {"since": "yesterday-ish"})
    assert response.status_code == 400
    assert "since" in response.json()


def test_the_list_costs_the_same_queries_for_3_or_30_events(
    django_assert_max_num_queries, auditor, model_owner, business_owner, validator, history
):
    client = api(auditor)
    with CaptureQueriesContext(connection) as few:
        client.get(LIST)
    few_count = len(few)
    for n in range(27):
        services.registered_model_update(actor=validator, model=history, purpose=f"Take {n}.")
    with django_assert_max_num_queries(few_count):
        assert len(client.get(LIST).json()["results"]) == 30
    event = AuditEvent.objects.first()
    with django_assert_max_num_queries(few_count):
        client.get(reverse("api:audit-event-detail", kwargs={"pk": event.pk}))


def test_the_list_is_paged_by_cursor_without_a_count(
    auditor, validator, history, django_assert_max_num_queries
):
    for n in range(7):
        services.registered_model_update(actor=validator, model=history, purpose=f"Take {n}.")
    client = api(auditor)
    first = client.get(LIST, {"page_size": 4}).json()
    assert set(first) == {"next", "previous", "results"}
    assert [row["sequence"] for row in first["results"]] == [10, 9, 8, 7]
    assert first["previous"] is None and "cursor=" in first["next"]
    with django_assert_max_num_queries(8):
        second = client.get(first["next"]).json()
    assert [row["sequence"] for row in second["results"]] == [6, 5, 4, 3]
    back = client.get(second["previous"]).json()
    assert [row["sequence"] for row in back["results"]] == [10, 9, 8, 7]
    last = client.get(second["next"]).json()
    assert [row["sequence"] for row in last["results"]] == [2, 1]
    assert last["next"] is None


def test_filters_combine_with_the_cursor(auditor, validator, history):
    for n in range(5):
        services.registered_model_update(actor=validator, model=history, purpose=f"Take {n}.")
    client = api(auditor)
    page = client.get(LIST, {"actor": "VAL.VALIDATOR", "page_size": 4}).json()
    assert [row["sequence"] for row in page["results"]] == [8, 7, 6, 5]
    rest = client.get(page["next"]).json()
    assert [row["sequence"] for row in rest["results"]] == [4, 3]


# --- verify -------------------------------------------------------------------------------


def _verify(client, django_capture_on_commit_callbacks, **body):
    """POST verify (the job runs in process on commit), then poll its Location."""
    with django_capture_on_commit_callbacks(execute=True):
        started = client.post(VERIFY, body, format="json")
    assert started.status_code == 202
    assert started["Location"] == started.json()["url"]
    return client.get(started["Location"]).json()


@pytest.mark.parametrize("persona", READERS)
def test_verify_reports_an_intact_chain(
    request, persona, history, django_capture_on_commit_callbacks
):
    body = _verify(api(request.getfixturevalue(persona)), django_capture_on_commit_callbacks)
    assert body["checkpoint"]["state"] == "unverifiable"  # no checkpoint written yet
    assert body["status"] == "done" and body["full"] is False
    assert body["requested_by"] == request.getfixturevalue(persona).username
    assert (body["base_sequence"], body["target_sequence"]) == (0, 3)
    assert (body["total"], body["verified"], body["percent"]) == (3, 3, 100)
    assert body["duration_ms"] is not None and body["finished_at"]
    assert {k: body[k] for k in ("ok", "count", "head_hash", "broken_sequence", "broken_id")} == {
        "ok": True,
        "count": 3,
        "head_hash": AuditEvent.objects.get(sequence=3).hash,
        "broken_sequence": None,
        "broken_id": None,
    }
    assert body["reason"] == ""


def test_post_answers_202_with_the_queued_run_and_get_polls_it(auditor, history, validator):
    client = api(auditor)
    assert client.get(VERIFY).status_code == 404  # none yet
    started = client.post(VERIFY, {}, format="json")  # no commit here: the run waits
    assert started.status_code == 202
    run = started.json()
    assert run["status"] == "queued" and run["ok"] is None and run["verified"] == 0
    assert started["Location"].endswith(f"/api/v1/audit-verifications/{run['id']}/")
    again = api(validator).post(VERIFY, {"full": True}, format="json")
    assert again.status_code == 202 and again.json()["id"] == run["id"]  # the one waiting
    assert client.get(VERIFY).json()["id"] == run["id"]
    assert ChainVerification.objects.count() == 1


def test_a_bad_body_is_named(auditor, history):
    response = api(auditor).post(VERIFY, {"full": "sometimes"}, format="json")
    assert response.status_code == 400 and "full" in response.json()


def test_verify_names_the_first_altered_event(auditor, history, django_capture_on_commit_callbacks):
    altered = AuditEvent.objects.get(sequence=2)
    _tamper(altered)
    body = _verify(api(auditor), django_capture_on_commit_callbacks)
    assert body["ok"] is False
    assert body["broken_sequence"] == 2
    assert body["broken_id"] == altered.pk
    assert "altered" in body["reason"]


def test_verify_compares_the_chain_with_the_signed_checkpoints(
    auditor, history, django_capture_on_commit_callbacks
):
    checkpoint = audit_checkpoint_write(reason="test")
    body = _verify(api(auditor), django_capture_on_commit_callbacks)
    assert body["ok"] is True
    assert body["checkpoint"]["state"] == "verified"
    assert body["checkpoint"]["latest"]["hash"] == checkpoint.hash
    assert body["checkpoint"]["latest"]["signature"] == checkpoint.signature


def test_verify_reports_a_rehashed_chain_through_the_checkpoint(
    auditor, history, django_capture_on_commit_callbacks
):
    audit_checkpoint_write(reason="test")
    edit_and_rehash(1)
    body = _verify(api(auditor), django_capture_on_commit_callbacks)
    assert body["ok"] is False and body["broken_sequence"] is None
    assert body["checkpoint"]["state"] == "broken"
    assert "event 3 has hash" in body["reason"]


def test_a_second_run_verifies_only_the_new_events(
    auditor, history, validator, django_capture_on_commit_callbacks
):
    client = api(auditor)
    _verify(client, django_capture_on_commit_callbacks)
    audit_checkpoint_write(reason="test")
    for n in range(4):
        services.registered_model_update(actor=validator, model=history, purpose=f"Take {n}.")
    body = _verify(client, django_capture_on_commit_callbacks)
    assert body["ok"] is True and body["checkpoint"]["state"] == "verified"
    assert (body["base_sequence"], body["target_sequence"], body["count"]) == (3, 7, 4)
    assert "signed checkpoint" in body["base_note"]
    full = _verify(client, django_capture_on_commit_callbacks, full=True)
    assert (full["full"], full["base_sequence"], full["count"]) == (True, 0, 7)


def test_verifications_are_listed_and_read_by_audit_readers_only(
    auditor, viewer, history, django_capture_on_commit_callbacks
):
    run = _verify(api(auditor), django_capture_on_commit_callbacks)
    listed = api(auditor).get("/api/v1/audit-verifications/").json()["results"]
    assert [row["id"] for row in listed] == [run["id"]]
    assert api(viewer).get(run["url"]).status_code == 403
    assert api(auditor).get("/api/v1/audit-verifications/999/").status_code == 404


@pytest.mark.parametrize("runs", [1, 15])
def test_verification_reads_cost_the_same_queries_for_more_runs(
    auditor, history, runs, django_assert_max_num_queries
):
    for _ in range(runs):
        run = ChainVerification.objects.create(trigger="command", status="done", ok=True)
    client = api(auditor)
    with django_assert_max_num_queries(6):
        assert client.get("/api/v1/audit-verifications/").status_code == 200
    with django_assert_max_num_queries(6):
        assert client.get(f"/api/v1/audit-verifications/{run.pk}/").status_code == 200
    with django_assert_max_num_queries(6):
        assert client.get(VERIFY).json()["id"] == run.pk
