"""API tokens: hashed at rest and shown once, several named tokens per user, a recognisable
prefix, expiry answered with a clear 401, last-used time written at most once a minute."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts.authentication import TokenAuthentication
from apps.accounts.models import AuthToken
from apps.accounts.services import auth_token_create
from apps.audit.models import AuditEvent
from apps.core.errors import ApplicationError

pytestmark = pytest.mark.django_db
URL = reverse("accounts:token_list")


def api(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def _all_stored_text() -> str:
    """Every column of every token row, as the database holds it."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {AuthToken._meta.db_table}")
        return " ".join(str(value) for row in cursor.fetchall() for value in row)


def test_the_key_is_not_stored_only_its_digest(model_owner):
    token, key = auth_token_create(actor=model_owner, user=model_owner, name="CI pipeline")
    stored = _all_stored_text()
    assert key not in stored
    assert key[15:] not in stored  # nothing past the 15-character lookup prefix
    assert len(token.digest) == 128 and token.digest in stored
    assert api(key).get("/api/v1/models/").status_code == 200


def test_keys_carry_the_mlgov_prefix_for_secret_scanners(model_owner):
    _, key = auth_token_create(actor=model_owner, user=model_owner, name="CI")
    assert key.startswith("mlgov_")
    assert len(key) == len("mlgov_") + 64


def test_the_page_shows_a_new_key_once(client, model_owner):
    client.force_login(model_owner)
    response = client.post(URL, {"name": "notebook", "expires_days": 30})
    assert response.status_code == 200
    body = response.content.decode()
    key = body.split('id="new-token-key" class="token-key">')[1].split("<")[0]
    assert key.startswith("mlgov_")
    assert api(key).get("/api/v1/models/").status_code == 200

    again = client.get(URL).content.decode()
    assert key not in again
    assert "notebook" in again
    token = AuthToken.objects.get(user=model_owner)
    assert token.created_by == model_owner
    assert timedelta(days=29, hours=23) < token.expiry - timezone.now() <= timedelta(days=30)


def test_a_user_has_several_named_tokens(client, model_owner):
    client.force_login(model_owner)
    keys = []
    for name in ("CI pipeline", "notebook"):
        body = client.post(URL, {"name": name, "expires_days": 90}).content.decode()
        keys.append(body.split('id="new-token-key" class="token-key">')[1].split("<")[0])
    assert set(AuthToken.objects.filter(user=model_owner).values_list("name", flat=True)) == {
        "CI pipeline",
        "notebook",
    }
    for key in keys:
        assert api(key).get("/api/v1/models/").status_code == 200
    page = client.get(URL).content.decode()
    assert "CI pipeline" in page and "notebook" in page


def test_tokens_expire_after_the_configured_days_by_default(model_owner, settings):
    settings.MLGOV_TOKEN_TTL_DAYS = 90
    token, _ = auth_token_create(actor=model_owner, user=model_owner, name="CI")
    assert timedelta(days=89, hours=23) < token.expiry - timezone.now() <= timedelta(days=90)


def test_an_expired_token_answers_401_saying_so(model_owner):
    token, key = auth_token_create(actor=model_owner, user=model_owner, name="CI")
    AuthToken.objects.filter(pk=token.pk).update(expiry=timezone.now() - timedelta(seconds=1))
    response = api(key).get("/api/v1/models/")
    assert response.status_code == 401
    assert response.json()["detail"].startswith("Token expired on ")
    assert "/accounts/tokens/" in response.json()["detail"]
    assert response["WWW-Authenticate"] == "Token"
    # Kept, so its owner sees it as expired in the list.
    assert AuthToken.objects.filter(pk=token.pk).exists()


def test_an_unknown_key_with_a_known_prefix_is_refused(model_owner):
    _, key = auth_token_create(actor=model_owner, user=model_owner, name="CI")
    forged = key[:15] + ("0" if key[15] != "0" else "1") + key[16:]
    response = api(forged).get("/api/v1/models/")
    assert response.status_code == 401
    assert response.json()["detail"] == "Invalid token."


def test_last_used_is_written_at_most_once_a_minute(model_owner, monkeypatch):
    token, key = auth_token_create(actor=model_owner, user=model_owner, name="CI")
    assert token.last_used_at is None
    client = api(key)
    client.get("/api/v1/models/")
    token.refresh_from_db()
    first = token.last_used_at
    assert first is not None

    # Within the minute: no write.
    client.get("/api/v1/models/")
    token.refresh_from_db()
    assert token.last_used_at == first

    # A minute later: written again.
    later = first + timedelta(minutes=1, seconds=1)
    monkeypatch.setattr("django.utils.timezone.now", lambda: later)
    client.get("/api/v1/models/")
    token.refresh_from_db()
    assert token.last_used_at == later


def test_authenticating_costs_one_query_between_writes(model_owner):
    _, key = auth_token_create(actor=model_owner, user=model_owner, name="CI")
    auth = TokenAuthentication()
    auth.authenticate_credentials(key.encode())  # writes last_used_at
    with CaptureQueriesContext(connection) as queries:
        user, _ = auth.authenticate_credentials(key.encode())
    assert user == model_owner
    assert len(queries) == 1


def test_making_a_token_is_audited_without_the_key(model_owner):
    token, key = auth_token_create(actor=model_owner, user=model_owner, name="CI pipeline")
    event = AuditEvent.objects.get(action="create", object_type="accounts.authtoken")
    assert event.actor == model_owner
    assert event.object_id == str(token.pk)
    assert "CI pipeline" in event.message
    text = f"{event.message} {event.changes} {event.object_repr}"
    assert key not in text and key[15:] not in text and token.digest not in text


def test_a_user_without_a_role_cannot_make_a_token(client, outsider):
    client.force_login(outsider)
    assert client.get(URL).status_code == 200
    assert client.post(URL, {"name": "x", "expires_days": 5}).status_code == 403
    assert not AuditEvent.objects.exists()
    assert not AuthToken.objects.exists()


def test_a_token_longer_than_the_maximum_is_refused(client, model_owner, settings):
    settings.MLGOV_TOKEN_MAX_TTL_DAYS = 366
    client.force_login(model_owner)
    response = client.post(URL, {"name": "forever", "expires_days": 5000})
    assert response.status_code == 200
    assert "less than or equal to 366" in response.content.decode()
    assert not AuthToken.objects.exists()


def test_nobody_makes_a_token_for_someone_else(admin_user, model_owner):
    with pytest.raises(ApplicationError):
        auth_token_create(actor=admin_user, user=model_owner, name="impersonation")
    assert not AuthToken.objects.exists()
