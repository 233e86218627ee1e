"""The SCIM credential: made by an administrator (admin site, command), shown once, stored
as a digest, expiring, revocable, and scoped: it opens /scim/v2/ and nothing else, and no
user's session or API token opens /scim/v2/."""

from __future__ import annotations

import hashlib
import io
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import CommandError, call_command
from django.test import Client

from apps.audit.models import AuditEvent
from apps.core import clock
from apps.core.errors import ApplicationError
from apps.provisioning.models import ScimCredential
from apps.provisioning.services import scim_credential_create, scim_credential_revoke
from tests.factories import api_token_key
from tests.provisioning.conftest import ScimClient

pytestmark = pytest.mark.django_db


def test_only_the_digest_of_the_secret_is_kept(credential):
    stored = ScimCredential.objects.get()
    assert credential.secret.startswith("mlgov_scim_")
    assert stored.digest == hashlib.sha512(credential.secret.encode()).hexdigest()
    assert credential.secret not in {stored.prefix, stored.digest, stored.name}
    event = AuditEvent.objects.get(object_type="provisioning.scimcredential")
    assert credential.secret not in str(event.changes) + event.message


def test_the_credential_opens_scim_and_notes_its_use(scim, credential):
    answer = scim.get("/ServiceProviderConfig")
    assert answer.status == 200
    assert answer.body["patch"] == {"supported": True}
    credential.refresh_from_db()
    assert credential.last_used_at is not None


@pytest.mark.parametrize(
    "header",
    ["", "Bearer", "Bearer mlgov_scim_wrong-secret-of-some-length", "Basic dXNlcjpwYXNz"],
)
def test_calls_without_a_valid_credential_are_refused(credential, header):
    client = Client(HTTP_AUTHORIZATION=header) if header else Client()
    response = client.get("/scim/v2/Users")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/scim+json"
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["status"] == "401"


def test_an_expired_credential_is_refused_saying_so(credential):
    ScimCredential.objects.filter(pk=credential.pk).update(
        expires_at=clock.now() - timedelta(minutes=1)
    )
    answer = ScimClient(credential.secret).get("/Users")
    assert answer.status == 401
    assert "expired" in answer.body["detail"]


def test_a_revoked_credential_is_refused_at_once(admin_user, credential):
    scim = ScimClient(credential.secret)
    assert scim.get("/Users").status == 200
    scim_credential_revoke(actor=admin_user, credential=credential)
    answer = scim.get("/Users")
    assert answer.status == 401
    assert "revoked" in answer.body["detail"]
    assert AuditEvent.objects.filter(
        action="revoke", object_type="provisioning.scimcredential"
    ).exists()


def test_a_users_api_token_or_session_does_not_open_scim(admin_user, client):
    key = api_token_key(admin_user)
    for header in (f"Token {key}", f"Bearer {key}"):
        assert Client(HTTP_AUTHORIZATION=header).get("/scim/v2/Users").status_code == 401
    client.force_login(admin_user)
    assert client.get("/scim/v2/Users").status_code == 401


def test_the_credential_opens_nothing_but_scim(credential):
    client = Client(HTTP_AUTHORIZATION=f"Bearer {credential.secret}")
    assert client.get("/api/v1/models/").status_code in (401, 403)
    assert client.get("/api/v1/audit-events/").status_code in (401, 403)
    page = client.get("/inventory/models/")
    assert page.status_code == 302 and "/accounts/login/" in page["Location"]
    assert client.get("/admin/").status_code == 302


def test_every_credential_expires_within_two_years(admin_user):
    for days in (0, 731):
        with pytest.raises(ApplicationError, match="between 1 and 730 days"):
            scim_credential_create(actor=admin_user, name=f"d{days}", days=days)


def test_the_command_prints_the_secret_once(db):
    out, err = io.StringIO(), io.StringIO()
    call_command("scim_credential_create", "--name", "Okta", "--days", "90", stdout=out, stderr=err)
    secret = out.getvalue().strip()
    assert ScimClient(secret).get("/Schemas").status == 200
    assert "expires" in err.getvalue()
    stored = ScimCredential.objects.get(name="Okta")
    assert (stored.expires_at - stored.created_at) == timedelta(days=90)
    assert (
        AuditEvent.objects.get(object_type="provisioning.scimcredential").actor_username == "system"
    )
    with pytest.raises(CommandError, match="already exists"):
        call_command("scim_credential_create", "--name", "okta", "--days", "90", stdout=out)


def test_an_administrator_makes_one_in_the_admin_and_sees_the_secret_once(client, admin_user):
    client.force_login(admin_user)
    page = client.post(
        "/admin/provisioning/scimcredential/add/", {"name": "Keycloak", "days": "365"}
    )
    assert page.status_code == 200
    secret = page.context["secret"]
    assert secret.encode() in page.content
    assert ScimClient(secret).get("/ResourceTypes").status == 200
    credential = ScimCredential.objects.get(name="Keycloak")
    assert credential.created_by == admin_user
    listing = client.get("/admin/provisioning/scimcredential/")
    assert listing.status_code == 200 and secret.encode() not in listing.content
    revoked = client.post(
        "/admin/provisioning/scimcredential/",
        {"action": "revoke", "_selected_action": [credential.pk]},
    )
    assert revoked.status_code == 302
    credential.refresh_from_db()
    assert credential.revoked_at is not None


def test_people_without_the_admin_role_cannot_make_one(client, validator):
    client.force_login(validator)
    response = client.get("/admin/provisioning/scimcredential/add/")
    assert response.status_code in (302, 403)
    with pytest.raises(PermissionDenied):
        scim_credential_create(actor=validator, name="x", days=1)
