"""The MLflow REST client: paging, credentials, errors with clear messages, and the egress
guard in front of every request. Against real HTTP listeners on 127.0.0.1."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest

from apps.mlflow_sync.client import ArtifactRoot, Credential, MlflowClient, MlflowError
from tests.listeners import listener, reply


@pytest.fixture(autouse=True)
def _default_install(settings):
    settings.MLGOV_EGRESS_ALLOW = []
    settings.MLGOV_EGRESS_PORTS = [80, 443]


def _pages(handler, received):
    """Registered models in two pages, chained by a page token."""
    query = parse_qs(urlsplit(received.path).query)
    if query.get("page_token") == ["next-1"]:
        body = {"registered_models": [{"name": "b"}]}
    else:
        body = {"registered_models": [{"name": "a"}], "next_page_token": "next-1"}
    reply(200, json.dumps(body).encode(), {"Content-Type": "application/json"})(handler, received)


def test_it_follows_page_tokens_and_sends_the_credential(settings):
    with listener(_pages) as server:
        settings.MLGOV_EGRESS_ALLOW = [server.allow_entry]
        client = MlflowClient(server.url(), credential=Credential("s3cret"), timeout=5)
        names = [m["name"] for m in client.registered_models()]
    assert names == ["a", "b"]
    assert [r.headers["Authorization"] for r in server.requests] == ["Bearer s3cret"] * 2
    assert server.requests[0].path.startswith("/api/2.0/mlflow/registered-models/search?")


def test_it_sends_user_and_password_as_basic_authentication():
    assert Credential("ana:pw").header() == {"Authorization": "Basic YW5hOnB3"}
    assert Credential("").header() == {}


def test_it_names_a_refused_credential(settings):
    with listener(reply(401, b'{"error_code": "UNAUTHENTICATED"}')) as server:
        settings.MLGOV_EGRESS_ALLOW = [server.allow_entry]
        with pytest.raises(MlflowError, match="refused the credential") as caught:
            list(MlflowClient(server.url(), timeout=5).registered_models())
    assert not caught.value.retryable


def test_it_reports_mlflows_own_error_message(settings):
    body = b'{"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "Run abc not found"}'
    with listener(reply(404, body)) as server:
        settings.MLGOV_EGRESS_ALLOW = [server.allow_entry]
        with pytest.raises(MlflowError, match="RESOURCE_DOES_NOT_EXIST: Run abc not found"):
            MlflowClient(server.url(), timeout=5).run("abc")


def test_it_retries_a_server_error_later(settings):
    with listener(reply(503, b"busy")) as server:
        settings.MLGOV_EGRESS_ALLOW = [server.allow_entry]
        with pytest.raises(MlflowError) as caught:
            MlflowClient(server.url(), timeout=5).run("abc")
    assert caught.value.retryable and caught.value.status == 503


def test_it_says_when_the_answer_is_not_json(settings):
    with listener(reply(200, b"<html>login</html>")) as server:
        settings.MLGOV_EGRESS_ALLOW = [server.allow_entry]
        with pytest.raises(MlflowError, match="not JSON; is the tracking URL right"):
            list(MlflowClient(server.url(), timeout=5).model_versions())


def test_the_egress_guard_refuses_a_loopback_server_nobody_allowed():
    with listener() as server, pytest.raises(MlflowError, match="MLGOV_EGRESS_ALLOW") as caught:
        list(MlflowClient(server.url(), timeout=5).registered_models())
    assert server.requests == []
    assert "a loopback address" in caught.value.message


def test_it_reads_artifact_roots_of_the_proxy_and_of_runs():
    assert ArtifactRoot.parse("mlflow-artifacts:/1/models/m-1/artifacts") == ArtifactRoot(
        path="1/models/m-1/artifacts"
    )
    assert ArtifactRoot.parse("runs:/abc/model") == ArtifactRoot(path="model", run_id="abc")
    assert not ArtifactRoot.readable("s3://bucket/model")
    with pytest.raises(MlflowError, match="not readable through the tracking server"):
        ArtifactRoot.parse("s3://bucket/model")
