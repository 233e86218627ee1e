"""/api/v1/incidents/: same rules as the pages, filters, actions, constant query counts."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.incidents import services
from apps.incidents.models import Incident
from tests.approvals.helpers import PASSWORD
from tests.monitoring.evaluation.helpers import day, ingest

pytestmark = pytest.mark.django_db

URL = "/api/v1/incidents/"


@pytest.fixture
def api():
    return APIClient()


def _url(incident, action: str = "") -> str:
    return f"{URL}{incident.reference}/" + (f"{action}/" if action else "")


def test_a_model_owner_opens_and_works_an_incident(api, model_owner, owned_model):
    api.force_authenticate(model_owner)
    aware = (timezone.now() - dt.timedelta(hours=1)).isoformat()
    response = api.post(
        URL,
        {
            "model": owned_model.slug,
            "title": "Wrong refusals",
            "severity": "sev1",
            "serious_category": "fundamental_rights",
            "widespread": True,
            "awareness_at": aware,
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["reference"].startswith("INC-")
    assert body["deadline"]["text"].endswith("left") and body["deadline"]["overdue"] is False
    incident = Incident.objects.get()
    assert incident.reporting_deadline == incident.awareness_at + dt.timedelta(days=2)

    patched = api.patch(
        _url(incident),
        {"root_cause": "Stale rule table.", "corrective_actions": "Reloaded.", "assignee": None},
        format="json",
    )
    assert patched.status_code == 200, patched.json()
    assert patched.json()["root_cause"] == "Stale rule table."
    for status in ("investigating", "resolved"):
        moved = api.post(_url(incident, "transition"), {"status": status}, format="json")
        assert moved.status_code == 200, moved.json()
    assert moved.json()["status"] == "resolved"
    assert [e["kind"] for e in moved.json()["timeline"]] == [
        "created",
        "update",
        "status",
        "status",
    ]
    comment = api.post(_url(incident, "comment"), {"text": "Done."}, format="json")
    assert comment.status_code == 201 and comment.json()["kind"] == "comment"


def test_refusals_answer_400_with_the_reason(api, model_owner, incident):
    api.force_authenticate(model_owner)
    response = api.post(_url(incident, "transition"), {"status": "closed"}, format="json")
    assert response.status_code == 400
    assert "cannot become closed" in response.json()["detail"]
    response = api.patch(_url(incident), {"status": "closed"}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "open"  # read-only


def test_the_detail_has_breaches_and_the_timeline(api, viewer, make_threshold, v1, auc):
    make_threshold()
    ingest(v1, auc, [(day(0), 0.6)])
    incident = Incident.objects.get()
    api.force_authenticate(viewer)
    body = api.get(_url(incident)).json()
    assert body["affected_versions"] == [v1.version]
    assert [b["state"] for b in body["breaches"]] == ["critical"]
    assert [e["kind"] for e in body["timeline"]] == ["created", "breach"]
    assert body["threshold"] is not None


def test_the_list_filters(api, validator, owned_model, foreign_model, incident):
    serious = services.incident_create(
        actor=validator,
        model=foreign_model,
        title="x",
        severity="sev1",
        serious_category="health",
        awareness_at=timezone.now() - dt.timedelta(days=20),
        detected_at=timezone.now() - dt.timedelta(days=20),
    )
    api.force_authenticate(validator)

    def refs(**params):
        return {r["reference"] for r in api.get(URL, params).json()["results"]}

    assert refs() == {incident.reference, serious.reference}
    assert refs(serious="true") == {serious.reference}
    assert refs(overdue="true") == {serious.reference}
    assert refs(severity="sev3") == {incident.reference}
    assert refs(model=owned_model.slug) == {incident.reference}
    assert refs(status="closed") == set()


def test_out_of_reach_incidents_are_not_found(api, model_owner, validator, foreign_model):
    foreign = services.incident_create(
        actor=validator, model=foreign_model, title="x", severity="sev4"
    )
    api.force_authenticate(model_owner)
    assert api.get(_url(foreign)).status_code == 404
    assert api.get(URL).json()["count"] == 0


def test_rollback_answers_202_with_the_request(api, validator, production_history, incident):
    api.force_authenticate(validator)
    body = {"reason": "Broken.", "password": PASSWORD}
    response = api.post(_url(incident, "rollback"), body, format="json")
    assert response.status_code == 202, response.json()
    assert response.json()["kind"] == "emergency_change"
    assert response.json()["status"] == "pending"


@pytest.mark.parametrize("rows", [3, 30])
def test_the_query_counts_are_constant(
    api, validator, owned_model, make_threshold, v1, auc, rows, django_assert_max_num_queries
):
    make_threshold()
    ingest(v1, auc, [(day(0), 0.6)])
    incident = Incident.objects.get()
    for i in range(rows):
        services.incident_create(actor=validator, model=owned_model, title=f"n{i}", severity="sev4")
        services.incident_comment(actor=validator, incident=incident, text=f"Note {i}")
    api.force_authenticate(validator)
    with django_assert_max_num_queries(8):
        assert api.get(URL).status_code == 200
    with django_assert_max_num_queries(8):
        assert api.get(_url(incident)).status_code == 200
    with django_assert_max_num_queries(30):
        response = api.post(_url(incident, "comment"), {"text": "x"}, format="json")
        assert response.status_code == 201


def test_rollback_is_signed_with_the_password(
    api, validator, production_history, incident, settings
):
    """As an approval decision: no password 400, a wrong one 400 (counted, audited), and a
    locked account 429 even with the right one; nothing changes until it is right."""
    settings.MLGOV_LOCKOUT_RULES = [(("username",), 2, 15)]
    api.force_authenticate(validator)
    url = _url(incident, "rollback")
    missing = api.post(url, {"reason": "Broken."}, format="json")
    assert missing.status_code == 400 and "password" in missing.json()
    wrong = api.post(url, {"reason": "Broken.", "password": "nope"}, format="json")
    assert wrong.status_code == 400 and "password" in wrong.json()
    again = api.post(url, {"reason": "Broken.", "password": "nope"}, format="json")
    assert again.status_code == 429  # the second failure reaches the limit
    locked = api.post(url, {"reason": "Broken.", "password": PASSWORD}, format="json")
    assert locked.status_code == 429 and "locked" in locked.json()["detail"]
    incident.refresh_from_db()
    assert incident.rollback_request is None
