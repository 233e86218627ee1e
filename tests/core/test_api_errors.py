"""Every answer under /api/ is JSON, errors included; the browser keeps its HTML pages."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, RequestFactory
from rest_framework.test import APIClient

from apps.core.api import handlers
from tests.factories import RegisteredModelFactory

pytestmark = pytest.mark.django_db


def api(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def assert_json_error(response, status: int) -> dict:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == "application/json", response["Content-Type"]
    body = response.json()
    assert isinstance(body["detail"], str) and body["detail"]
    return body


def test_an_unknown_api_path_answers_404_in_json(viewer):
    assert_json_error(api(viewer).get("/api/v1/no-such-resource/"), 404)
    assert_json_error(api(viewer).get("/api/v2/models/"), 404)
    # A path parameter outside the route's pattern is an unknown path too.
    assert_json_error(api(viewer).get("/api/v1/models/%C2%84/"), 404)


def test_an_unknown_page_outside_the_api_keeps_the_html_404(viewer):
    client = Client()
    client.force_login(viewer)
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_a_server_error_answers_500_in_json_with_the_request_id_and_no_traceback(
    viewer, monkeypatch
):
    def broken(**kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr("apps.inventory.selectors.inventory_lineage", broken)
    client = api(viewer)
    client.raise_request_exception = False
    response = client.get("/api/v1/lineage/", HTTP_X_REQUEST_ID="req-500-test")
    body = assert_json_error(response, 500)
    assert "req-500-test" in body["detail"]
    assert "secret internals" not in response.content.decode()
    assert "Traceback" not in response.content.decode()


def test_a_json_body_over_the_upload_limit_answers_413_unread(model_owner, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = '{"slug": "big", "name": "' + "x" * 2000 + '"}'
    response = api(model_owner).post("/api/v1/models/", body, content_type="application/json")
    body = assert_json_error(response, 413)
    assert body["detail"] == (
        "The request body is too large; at most 1000 bytes are accepted here."
    )


def test_a_metric_file_over_the_ingestion_limit_answers_413_unread(admin_user, settings):
    settings.MLGOV_INGEST_MAX_BYTES = 100
    upload = b"model,version,metric,value,timestamp\n" + b"x" * (1024 * 1024 + 200)
    response = api(admin_user).post(
        "/api/v1/ingestion/",
        {"file": SimpleUploadedFile("big.csv", upload, content_type="text/csv")},
        format="multipart",
    )
    body = assert_json_error(response, 413)
    assert str(100 + 1024 * 1024) in body["detail"]


def test_json_rows_on_the_upload_route_keep_the_small_limit_as_they_are_read_whole(
    admin_user, settings
):
    # Files stream; a JSON body is parsed whole in the web process, so the upload route's
    # large limit is for multipart files only.
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    rows = [{"model": "m", "version": "1", "metric": "auc", "value": 0.5, "timestamp": "x"}] * 40
    response = api(admin_user).post("/api/v1/ingestion/", {"rows": rows}, format="json")
    body = assert_json_error(response, 413)
    assert body["detail"] == (
        "The request body is too large; at most 1000 bytes are accepted here."
    )


def test_a_form_field_over_django_limit_inside_an_upload_answers_413(admin_user, settings):
    # The upload route allows large files, but Django still caps the other fields: the
    # exception it raises while parsing becomes a JSON 413 too.
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = api(admin_user).post(
        "/api/v1/ingestion/",
        {
            "file": SimpleUploadedFile("m.csv", b"model,version\n", content_type="text/csv"),
            "model": "m" * 5000,
        },
        format="multipart",
    )
    assert_json_error(response, 413)


def test_a_method_not_allowed_answers_405_in_json(admin_user):
    RegisteredModelFactory(slug="m-405")
    assert_json_error(api(admin_user).delete("/api/v1/datasets/"), 405)


def test_a_session_client_without_the_csrf_token_answers_403_in_json(model_owner):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(model_owner)
    body = assert_json_error(client.post("/api/v1/models/", {}, format="json"), 403)
    assert "CSRF" in body["detail"]


def test_a_csrf_refusal_by_django_answers_json_under_the_api_and_html_elsewhere():
    factory = RequestFactory()
    response = handlers.csrf_failure(factory.post("/api/v1/models/"), reason="CSRF cookie not set")
    assert response.status_code == 403 and response["Content-Type"] == "application/json"
    assert "CSRF cookie not set" in json.loads(response.content)["detail"]
    page = handlers.csrf_failure(factory.post("/inventory/"), reason="CSRF cookie not set")
    assert page.status_code == 403 and page["Content-Type"].startswith("text/html")


def test_a_request_django_refuses_answers_400_in_json(viewer):
    # An unknown Host header is refused by Django itself (DisallowedHost), before any view.
    client = api(viewer)
    client.raise_request_exception = False
    assert_json_error(client.get("/api/v1/models/", HTTP_HOST="evil.example"), 400)
