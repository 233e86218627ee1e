"""API: the OpenAPI schema is valid without warnings and Swagger UI is served offline."""

from __future__ import annotations

import re

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_the_schema_validates_without_warnings(tmp_path):
    # --fail-on-warn raises on any warning, e.g. an endpoint whose types cannot be inferred.
    out = tmp_path / "schema.yml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    text = out.read_text()
    for path in (
        "/api/v1/models/{slug}/",
        "/api/v1/models/{model_slug}/versions/{version}/stage/",
        "/api/v1/models/{model_slug}/risk-assessments/{id}/decide/",
        "/api/v1/datasets/{slug}/",
        "/api/v1/deployments/",
        "/api/v1/lineage/",
        "/api/v1/audit-events/verify/",
    ):
        assert f"  {path}:" in text, path


def test_the_schema_documents_token_and_session_auth(viewer):
    client = APIClient()
    client.force_login(viewer)
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schemes = response.json()["components"]["securitySchemes"]
    assert {"tokenAuth", "cookieAuth"} <= set(schemes)


def test_swagger_ui_renders_from_local_assets_only(viewer):
    client = APIClient()
    client.force_login(viewer)
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert any("drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in a for a in assets)
    assert not [a for a in assets if a.startswith(("http:", "https:", "//"))], assets
    assert "cdn.jsdelivr.net" not in html
    assert "unpkg.com" not in html
    # The assets themselves are served by the app (no network needed).
    bundle = next(a for a in assets if a.endswith("swagger-ui-bundle.js"))
    served = client.get(bundle)
    assert served.status_code == 200
    assert b"".join(served.streaming_content if served.streaming else [served.content])


def test_the_schema_is_generated_once_per_process_and_still_asked_permission(viewer, monkeypatch):
    from drf_spectacular.generators import SchemaGenerator

    from apps.core.api import views

    views._forget_schemas()
    generated = []
    real = SchemaGenerator.get_schema
    monkeypatch.setattr(
        SchemaGenerator,
        "get_schema",
        lambda self, *a, **kw: generated.append(1) or real(self, *a, **kw),
    )
    client = APIClient()
    client.force_login(viewer)
    first = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    second = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    as_yaml = client.get("/api/schema/")

    assert first.status_code == second.status_code == as_yaml.status_code == 200
    assert first.json() == second.json()
    assert "openapi:" in as_yaml.content.decode()
    assert len(generated) == 1
    client.force_login(UserFactory(username="no.role"))
    assert client.get("/api/schema/").status_code == 403


def test_media_type_parameters_a_client_makes_up_are_not_kept(viewer):
    from apps.core.api import views

    views._forget_schemas()
    client = APIClient()
    client.force_login(viewer)
    for n in range(5):
        accept = f"application/vnd.oai.openapi+json; nonce={n}"
        assert client.get("/api/schema/", HTTP_ACCEPT=accept).status_code == 200
    client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    assert len(views._RENDERED) == 1
    assert len(views._SCHEMAS) == 1


def test_a_warmed_worker_serves_the_same_schema_a_reader_would_have_generated(viewer, monkeypatch):
    import runpy
    from pathlib import Path

    from drf_spectacular.generators import SchemaGenerator

    from apps.core.api import views

    client = APIClient()
    client.force_login(viewer)
    views._forget_schemas()
    generated_for_a_reader = {
        accept: client.get("/api/schema/", HTTP_ACCEPT=accept).content
        for accept in ("application/vnd.oai.openapi", "application/vnd.oai.openapi+json")
    }
    views._forget_schemas()
    gunicorn_conf = runpy.run_path(str(Path("deploy/gunicorn.conf.py")))
    gunicorn_conf["post_worker_init"](None)  # as gunicorn calls it in a new worker
    monkeypatch.setattr(
        SchemaGenerator, "get_schema", lambda *a, **kw: pytest.fail("generated after warming")
    )

    for accept, expected in generated_for_a_reader.items():
        served = client.get("/api/schema/", HTTP_ACCEPT=accept)
        assert served.status_code == 200
        assert served.content == expected, accept
    client.force_login(UserFactory(username="no.role"))
    assert client.get("/api/schema/").status_code == 403
