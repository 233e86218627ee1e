"""``/api/v1/ingestion/``: 202 with the batch, 200 for a duplicate, status and row errors."""

from __future__ import annotations

import gzip

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from apps.monitoring.choices import BatchStatus
from apps.monitoring.models import IngestionBatch, Observation
from tests.factories import api_token_key
from tests.monitoring.ingestion.conftest import csv_bytes, good_rows

pytestmark = pytest.mark.django_db
URL = "/api/v1/ingestion/"
ROWS = [
    {
        "model": "owned-model",
        "version": "1.0.0",
        "metric": "auc",
        "value": 0.8,
        "timestamp": "2025-01-01T00:00:00Z",
    },
    {
        "model": "owned-model",
        "version": "1.0.0",
        "metric": "auc",
        "value": 0.7,
        "timestamp": "2025-01-02T00:00:00Z",
        "segment": "region=eu",
    },
]


@pytest.fixture
def api(model_owner, auc, recall, versions, django_capture_on_commit_callbacks):
    def client_for(user=model_owner):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_key(user)}")
        return client

    return client_for


def post(client, django_capture_on_commit_callbacks, **kwargs):
    with django_capture_on_commit_callbacks(execute=True):
        return client.post(URL, **kwargs)


def test_it_accepts_a_file_with_202_then_reports_the_batch(api, django_capture_on_commit_callbacks):
    client = api()
    upload = SimpleUploadedFile("m.csv.gz", gzip.compress(csv_bytes(*good_rows(3))))
    response = post(
        client,
        django_capture_on_commit_callbacks,
        data={"file": upload, "model": "owned-model"},
        format="multipart",
    )
    assert response.status_code == 202, response.json()
    body = response.json()
    assert {"id", "status", "url"} <= set(body) and body["duplicate"] is False
    assert body["source"] == "api" and body["model"] == "owned-model"
    status = client.get(body["url"]).json()
    assert status["status"] == BatchStatus.SUCCEEDED and status["stage"] == "done"
    assert (status["rows_total"], status["rows_loaded"], status["progress"]) == (3, 3, 100)
    assert status["compressed"] is True and status["row_errors"] == []


def test_json_rows_are_accepted_and_the_same_rows_again_answer_200(
    api, django_capture_on_commit_callbacks
):
    client = api()
    first = post(client, django_capture_on_commit_callbacks, data={"rows": ROWS}, format="json")
    assert first.status_code == 202
    again = post(client, django_capture_on_commit_callbacks, data={"rows": ROWS}, format="json")
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert again.json()["id"] == first.json()["id"] and Observation.objects.count() == 2


def test_row_errors_are_reported_with_row_column_and_reason(
    api, django_capture_on_commit_callbacks
):
    client = api()
    rows = [*ROWS, {**ROWS[0], "value": "n/a", "timestamp": "2025-01-03T00:00:00Z"}]
    response = post(client, django_capture_on_commit_callbacks, data={"rows": rows}, format="json")
    batch = client.get(response.json()["url"]).json()
    assert batch["status"] == "failed" and batch["rows_rejected"] == 1
    assert batch["row_errors"] == [
        {"row": 3, "column": "value", "value": "n/a", "reason": "Not a number."}
    ]
    partial = post(
        client,
        django_capture_on_commit_callbacks,
        data={"rows": rows, "accept_partial": True},
        format="json",
    )
    assert client.get(partial.json()["url"]).json()["status"] == "partial"


def test_bad_bodies_answer_400(api):
    client = api()
    assert client.post(URL, data={"rows": []}, format="json").status_code == 400
    assert (
        client.post(URL, data={"rows": ROWS, "model": "foreign-model"}, format="json").status_code
        == 400
    )
    assert client.post(URL, data={}, format="multipart").status_code == 400


def test_viewers_may_read_but_not_send(api, viewer, django_capture_on_commit_callbacks):
    post(api(), django_capture_on_commit_callbacks, data={"rows": ROWS}, format="json")
    client = api(viewer)
    assert client.post(URL, data={"rows": ROWS}, format="json").status_code == 403
    assert len(client.get(URL).json()["results"]) == 1


def test_owners_see_only_batches_of_their_models_and_their_own(
    api, other_model_owner, model_owner, foreign_model, django_capture_on_commit_callbacks
):
    mine = post(api(), django_capture_on_commit_callbacks, data={"rows": ROWS}, format="json")
    theirs = post(
        api(other_model_owner),
        django_capture_on_commit_callbacks,
        data={"rows": [{**ROWS[0], "model": "foreign-model"}], "model": "foreign-model"},
        format="json",
    )
    client = api(model_owner)
    assert [b["id"] for b in client.get(URL).json()["results"]] == [mine.json()["id"]]
    assert client.get(f"{URL}{theirs.json()['id']}/").status_code == 404


def test_list_and_detail_queries_do_not_grow_with_rows(
    api, model_owner, validator, django_assert_max_num_queries
):
    client = api(validator)

    def make(n):
        for i in range(n):
            IngestionBatch.objects.create(
                source="api",
                file_format="csv",
                sha256=f"{IngestionBatch.objects.count():064d}",
                status="failed",
                created_by=model_owner,
                row_errors=[
                    {"row": r, "column": "value", "value": "x", "reason": "Not a number."}
                    for r in range(i)
                ],
            )

    make(3)
    with django_assert_max_num_queries(8) as few:
        assert client.get(URL).status_code == 200
    last = IngestionBatch.objects.order_by("-pk").first()
    with django_assert_max_num_queries(8) as detail:
        assert client.get(f"{URL}{last.pk}/").status_code == 200
    make(30)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(client.get(URL).json()["results"]) == 33
    last = IngestionBatch.objects.order_by("-pk").first()
    with django_assert_max_num_queries(len(detail.captured_queries)):
        assert len(client.get(f"{URL}{last.pk}/").json()["row_errors"]) == 29


def test_content_sent_by_someone_else_is_not_revealed(
    api, other_model_owner, django_capture_on_commit_callbacks
):
    post(api(), django_capture_on_commit_callbacks, data={"rows": ROWS}, format="json")
    again = api(other_model_owner).post(URL, data={"rows": ROWS}, format="json")
    assert again.status_code == 400 and "already sent" in again.json()["detail"]
    assert "id" not in again.json() and IngestionBatch.objects.count() == 1


def test_a_scope_out_of_reach_is_refused_as_an_unknown_one_and_the_rule_is_asked_once(
    api, foreign_model, django_capture_on_commit_callbacks, monkeypatch
):
    from apps.monitoring.ingestion import selectors

    client = api()
    asked = []
    may_push = selectors.may_push
    monkeypatch.setattr(
        selectors, "may_push", lambda **kw: asked.append(kw["model"].slug) or may_push(**kw)
    )

    def scoped(slug):
        upload = SimpleUploadedFile("m.csv", csv_bytes(*good_rows(2)))
        data = {"file": upload, "model": slug}
        return post(client, django_capture_on_commit_callbacks, data=data, format="multipart")

    foreign, unknown = scoped("foreign-model"), scoped("no-such-model")
    assert foreign.status_code == unknown.status_code == 400
    assert "foreign-model" in str(foreign.json()) and "no-such-model" in str(unknown.json())
    assert str(foreign.json()).replace("foreign-model", "X") == str(unknown.json()).replace(
        "no-such-model", "X"
    )
    assert scoped("owned-model").status_code == 202
    assert asked == ["owned-model"]
