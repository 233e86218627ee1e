"""API token scopes: ``api`` (the default, everything the user may do) and ``lineage`` (only the
OpenLineage intake), chosen when the token is made, shown in the lists, audited."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.urls import reverse
from rest_framework.test import APIClient

from apps.accounts.models import AuthToken
from apps.accounts.services import auth_token_create
from apps.audit.models import AuditEvent
from apps.core.errors import ApplicationError
from tests.openlineage.events import as_dict, run_event

pytestmark = pytest.mark.django_db
INTAKE = reverse("api:openlineage-intake")
TOKENS = reverse("accounts:token_list")


def api(key: str, keyword: str = "Token") -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"{keyword} {key}")
    return client


def test_a_token_opens_the_whole_api_unless_told_otherwise(model_owner):
    token, key = auth_token_create(actor=model_owner, user=model_owner, name="CI")

    assert token.scope == "api"
    assert api(key).get("/api/v1/models/").status_code == 200
    assert api(key).post(INTAKE, as_dict(run_event()), format="json").status_code == 201


def test_a_lineage_token_opens_only_the_openlineage_intake(model_owner):
    _, key = auth_token_create(actor=model_owner, user=model_owner, name="airflow", scope="lineage")

    for path in ("/api/v1/models/", "/api/v1/datasets/", "/api/schema/"):
        response = api(key).get(path)
        assert response.status_code == 403, path
        assert "scoped to OpenLineage events" in response.content.decode()
    refused = api(key).post("/api/v1/models/", {"slug": "x"}, format="json")
    assert refused.status_code == 403
    assert api(key).post(INTAKE, as_dict(run_event()), format="json").status_code == 201
    assert api(key, "Bearer").post(INTAKE, as_dict(run_event()), format="json").status_code == 201


def test_a_bearer_key_is_accepted_only_by_the_intake(model_owner):
    _, key = auth_token_create(actor=model_owner, user=model_owner, name="CI")

    assert api(key, "Bearer").get("/api/v1/models/").status_code in (401, 403)
    assert api(key, "Bearer").post(INTAKE, as_dict(run_event()), format="json").status_code == 201


def test_the_scope_is_audited(model_owner):
    token, _ = auth_token_create(actor=model_owner, user=model_owner, name="dbt", scope="lineage")

    event = AuditEvent.objects.get(object_type="accounts.authtoken", object_id=str(token.pk))
    assert event.changes["scope"] == {"before": None, "after": "lineage"}
    assert "scope lineage" in event.message


def test_it_refuses_an_unknown_scope(model_owner):
    with pytest.raises(ApplicationError) as refused:
        auth_token_create(actor=model_owner, user=model_owner, name="x", scope="admin")
    assert refused.value.field_errors["scope"]
    assert not AuthToken.objects.exists()


def test_the_tokens_page_makes_a_lineage_token_and_lists_its_scope(client, model_owner):
    client.force_login(model_owner)

    response = client.post(TOKENS, {"name": "spark", "expires_days": 30, "scope": "lineage"})

    assert response.status_code == 200
    assert AuthToken.objects.get(name="spark").scope == "lineage"
    body = response.content.decode()
    assert "Scope: OpenLineage events only." in body
    assert '<span class="badge">lineage</span>' in body


def test_the_tokens_page_makes_an_api_token_when_no_scope_is_sent(client, model_owner):
    client.force_login(model_owner)
    client.post(TOKENS, {"name": "notebook", "expires_days": 30})
    assert AuthToken.objects.get(name="notebook").scope == "api"


def test_the_command_makes_a_lineage_token(model_owner, capsys):
    call_command("drf_create_token", "mo.owner", "--name", "airflow", "--scope", "lineage")

    key = capsys.readouterr().out.split()[2]
    assert AuthToken.objects.get(name="airflow").scope == "lineage"
    assert api(key).get("/api/v1/models/").status_code == 403


def test_everyones_tokens_show_their_scope(client, admin_user, model_owner):
    auth_token_create(actor=model_owner, user=model_owner, name="airflow", scope="lineage")
    client.force_login(admin_user)

    body = client.get(reverse("accounts:token_list_all")).content.decode()
    assert '<th scope="col">Scope</th>' in body
    assert '<span class="badge">lineage</span>' in body
