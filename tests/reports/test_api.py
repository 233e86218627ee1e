"""``/api/v1/reports/``: 202 with the status URL, status and SHA-256, downloads that return
the same bytes with a file name and content type, refusals naming the field, and lists
restricted to what each role sees in a constant number of queries."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.reports.choices import ReportStatus
from tests.factories import api_token_key
from tests.reports.jobs import FAKE_BYTES, done_report, fake_generation, media, stored_files  # noqa: F401

pytestmark = pytest.mark.django_db
URL = "/api/v1/reports/"


def client_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_key(user)}")
    return client


def test_it_answers_202_then_reports_status_hash_and_download(
    auditor, owned_model, django_capture_on_commit_callbacks
):
    client = client_for(auditor)
    body = {"kind": "model_card", "format": "pdf", "model": "owned-model"}
    with fake_generation(), django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(URL, body, format="json")
    assert response.status_code == 202, response.json()
    created = response.json()
    assert len(callbacks) == 1 and response["Location"] == created["url"]
    assert created["status"] == ReportStatus.QUEUED and created["download_url"] is None
    assert (created["kind"], created["format"], created["model"]) == (
        "model_card",
        "pdf",
        "owned-model",
    )

    status = client.get(created["url"]).json()
    assert status["status"] == "done" and status["error"] == ""
    assert status["sha256"] == hashlib.sha256(FAKE_BYTES).hexdigest()
    assert status["size"] == len(FAKE_BYTES) and status["content_type"] == "application/pdf"
    assert status["requested_by"] == auditor.username and status["generator"].startswith("mlgov ")
    assert set(status["audit_chain_head"]) == {"sequence", "hash"}
    assert status["download_url"].endswith(f"/api/v1/reports/{created['id']}/download/")

    first = client.get(status["download_url"])
    second = client.get(status["download_url"], HTTP_ACCEPT="application/pdf")
    assert first.status_code == second.status_code == 200
    assert first.content == second.content == FAKE_BYTES
    assert first["Content-Type"] == "application/pdf"
    assert first["Content-Disposition"] == f'attachment; filename="{status["filename"]}"'
    assert status["filename"].startswith("owned-model-model-card-")


def test_bad_requests_answer_400_naming_the_field(auditor, owned_model):
    client = client_for(auditor)
    pair = client.post(URL, {"kind": "register", "format": "html"}, format="json")
    assert pair.status_code == 400 and "format" in pair.json()
    later = (timezone.now() + dt.timedelta(days=1)).isoformat()
    future = client.post(
        URL,
        {"kind": "model_card", "format": "pdf", "model": "owned-model", "as_of": later},
        format="json",
    )
    assert future.status_code == 400 and "future" in future.json()["as_of"][0]
    missing = client.post(URL, {"kind": "model_card", "format": "pdf"}, format="json")
    assert missing.status_code == 400 and "model" in missing.json()
    unknown = client.post(
        URL, {"kind": "model_card", "format": "pdf", "model": "nope"}, format="json"
    )
    assert unknown.status_code == 400 and "model" in unknown.json()


def test_roles_are_refused_what_the_rules_refuse(viewer, model_owner, owned_model, foreign_model):
    card = {"kind": "model_card", "format": "pdf", "model": "owned-model"}
    assert client_for(viewer).post(URL, card, format="json").status_code == 403
    pack = {"kind": "evidence_pack", "format": "zip", "model": "owned-model"}
    assert client_for(model_owner).post(URL, pack, format="json").status_code == 403
    foreign = {**card, "model": "foreign-model"}  # not visible: an unknown slug
    assert client_for(model_owner).post(URL, foreign, format="json").status_code == 400


def test_a_report_not_done_has_no_download(auditor, owned_model):
    from apps.reports import services

    report = services.report_request(
        user=auditor, kind="model_card", fmt="pdf", model=owned_model, enqueue=False
    )
    response = client_for(auditor).get(f"{URL}{report.pk}/download/")
    assert response.status_code == 409 and "queued" in response.json()["detail"]


def test_a_changed_file_is_refused_with_a_server_error(auditor, owned_model):
    report = done_report(auditor, model=owned_model)
    (path,) = stored_files(report)
    path.write_bytes(b"%PDF-1.7 tampered")
    response = client_for(auditor).get(f"{URL}{report.pk}/download/")
    assert response.status_code == 500
    assert "no longer matches its recorded SHA-256" in response.json()["detail"]


def test_lists_show_each_role_what_it_may_see(
    auditor, model_owner, other_model_owner, viewer, owned_model, foreign_model
):
    mine = done_report(model_owner, model=owned_model)
    theirs = done_report(other_model_owner, model=foreign_model)
    inventory = done_report(auditor, kind="register", fmt="csv")
    ids = lambda user: {r["id"] for r in client_for(user).get(URL).json()["results"]}  # noqa: E731
    assert ids(auditor) == {mine.pk, theirs.pk, inventory.pk}
    assert ids(model_owner) == {mine.pk}
    assert client_for(model_owner).get(f"{URL}{theirs.pk}/").status_code == 404
    assert client_for(model_owner).get(f"{URL}{theirs.pk}/download/").status_code == 404
    assert client_for(viewer).get(URL).status_code == 403
    assert client_for(viewer).get(f"{URL}{mine.pk}/").status_code == 403
    filtered = client_for(auditor).get(URL, {"kind": "register"}).json()["results"]
    assert [r["id"] for r in filtered] == [inventory.pk]
    by_model = client_for(auditor).get(URL, {"model": "foreign-model"}).json()["results"]
    assert [r["id"] for r in by_model] == [theirs.pk]


@pytest.mark.parametrize("count", [3, 30])
def test_the_list_takes_a_constant_number_of_queries(
    auditor, owned_model, count, django_assert_max_num_queries
):
    for _ in range(count):
        done_report(auditor, model=owned_model)
    client = client_for(auditor)
    with django_assert_max_num_queries(6):
        response = client.get(URL)
    assert response.json()["count"] == count
