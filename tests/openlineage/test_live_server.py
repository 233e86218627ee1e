"""The OpenLineage intake through a real mlgov server process, fed by the openlineage-python
client's own HTTP transport configured as a pipeline would (URL, endpoint, ``api_key`` auth
with a lineage-scoped key): events land, become datasets and version data, a repeat is a
no-op, a malformed event is refused naming the field, and the lineage key opens nothing else.
"""

from __future__ import annotations

import json
import uuid

import pytest
import requests
from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import RunState
from openlineage.client.transport.http import HttpConfig, HttpTransport

from tests import live_server
from tests.live_server import TOKEN_LINE
from tests.openlineage.events import as_dict, dataset, run_event

ADMIN = "ada.lineage"
PASSWORD = "correct-horse-battery-lineage-4"
PORT = 18457  # this engineer's range on shared machines: 18450-18499
ENDPOINT = "api/v1/lineage/openlineage/"
SETUP = """
from apps.accounts.models import User
from apps.accounts.services import user_create
from apps.inventory.services import (
    business_unit_create, model_version_register, registered_model_create,
)
admin = User.objects.get(username="ada.lineage")
business_owner = user_create(actor=admin, username="bea.credit", role_names=["business_owner"])
unit = business_unit_create(actor=admin, code="credit", name="Credit")
model = registered_model_create(
    actor=admin, slug="credit-scoring", name="Credit scoring",
    purpose="Scores retail credit applications.", business_unit=unit,
    business_owner=business_owner,
)
model_version_register(
    actor=admin, model=model, version="2.1.0",
    artifact_uri="s3://models/credit-scoring/2.1.0/model.pkl", artifact_sha256="a" * 64,
)
"""


@pytest.fixture(scope="module")
def installation(tmp_path_factory):
    with live_server.site(tmp_path_factory.mktemp("live-lineage"), "lineage") as site:
        site.manage("create_admin", ADMIN, extra_env={"MLGOV_ADMIN_PASSWORD": PASSWORD})
        site.manage("shell", "-c", SETUP)
        output = site.manage("drf_create_token", ADMIN, "--name", "airflow", "--scope", "lineage")
        lineage_key = TOKEN_LINE.search(output).group(1)
        yield site, lineage_key, site.token(ADMIN)


def _client(base: str, key: str, **options) -> OpenLineageClient:
    config = HttpConfig.from_dict(
        {"url": base, "endpoint": ENDPOINT, "auth": {"type": "api_key", "apiKey": key}, **options}
    )
    return OpenLineageClient(transport=HttpTransport(config))


def _get(base: str, path: str, key: str) -> requests.Response:
    return requests.get(f"{base}{path}", headers={"Authorization": f"Token {key}"}, timeout=60)


def test_pipeline_events_reach_mlgov_through_the_openlineage_http_transport(installation, tmp_path):
    site, lineage_key, api_key = installation
    log = tmp_path / "runserver.log"
    run_id = str(uuid.uuid4())
    inputs = [dataset("s3://lake", "credit/applications/2026-10.parquet", version="2026-10")]
    outputs = [dataset("s3://models", "credit-scoring/2.1.0/model.pkl", output=True)]
    with live_server.server(site, "runserver", log=log, port=PORT) as base:
        client = _client(base, lineage_key)
        client.emit(
            run_event(
                state=RunState.START,
                run_id=run_id,
                model="credit-scoring",
                version="2.1.0",
                inputs=inputs,
            )
        )
        complete = run_event(
            run_id=run_id, model="credit-scoring", version="2.1.0", inputs=inputs, outputs=outputs
        )
        client.emit(complete)
        # A transport set to compress its bodies (gzip) is understood too.
        compressed = _client(base, lineage_key, compression="gzip").transport
        waiting = compressed.emit(run_event(job="nightly.unknown", inputs=inputs))
        assert waiting.status_code == 201
        assert waiting.json()["status"] == "unmapped"

        # The same event again: answered, not applied twice.
        again = client.transport.emit(complete)
        assert again.status_code == 200 and again.json()["duplicate"] is True

        version = _get(base, "/api/v1/models/credit-scoring/versions/2.1.0/", api_key)
        assert version.status_code == 200, (version.text[:500], log.read_text()[-3000:])
        datasets = _get(base, "/api/v1/datasets/?page_size=100", api_key).json()["results"]
        by_uri = {d["uri"]: d for d in datasets}
        applications = by_uri["s3://lake/credit/applications/2026-10.parquet"]
        assert applications["version"] == "2026-10"
        assert applications["slug"] in json.dumps(version.json())

        # A malformed event, sent as the transport sends events, is refused naming the field.
        bad = as_dict(complete)
        bad["eventType"] = "FINISHED"
        refused = requests.post(
            f"{base}/{ENDPOINT}",
            json=bad,
            headers={"Authorization": f"Bearer {lineage_key}"},
            timeout=60,
        )
        assert refused.status_code == 400
        assert "/eventType" in refused.json()

        # The lineage key opens nothing else.
        scoped = _get(base, "/api/v1/models/", lineage_key)
        assert scoped.status_code == 403
        assert "scoped to OpenLineage events" in scoped.json()["detail"]
