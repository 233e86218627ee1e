"""Sign-in through a real OpenID provider (oidc-provider on 127.0.0.1): users made at their
first sign-in and found again by issuer and subject, roles from their groups at every
sign-in, and ID tokens that fail a check refused with nothing created.

The token cases use the provider's own tokens, changed on their way to mlgov (the one
outbound call of a sign-in, the token endpoint's answer, rewritten in transit): re-signed
with another key, swapped for one the provider issued to another client, delayed past a
one-second lifetime the provider gave it, or swapped for one from an earlier sign-in.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from urllib.parse import parse_qs, urljoin, urlsplit

import jwt
import pytest
import requests
from django.urls import reverse

from apps.accounts.models import User
from apps.audit.models import AuditEvent
from apps.core import roles
from apps.identity.models import ProviderIdentity
from tests.factories import UserFactory
from tests.identity import provider as oidc_provider
from tests.identity.conftest import CALLBACK, OTHER_CALLBACK, SIGNED_OUT

pytestmark = pytest.mark.django_db
PASSWORD = "provider-password-1"


def _start(client) -> tuple[str, dict[str, str]]:
    response = client.get(reverse("identity:oidc_login"))
    assert response.status_code == 302, response
    url = response["Location"]
    return url, {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def _sign_in(client, browser: requests.Session, login: str):
    """The whole flow: mlgov → provider (signing in there) → mlgov's callback."""
    url, _ = _start(client)
    back = oidc_provider.sign_in_at_provider(
        browser, url, login=login, password=PASSWORD, until=CALLBACK
    )
    parts = urlsplit(back)
    return client.get(f"{parts.path}?{parts.query}")


def _roles(user: User) -> set[str]:
    return set(user.groups.values_list("name", flat=True)) & set(roles.ALL_ROLES)


def test_it_signs_in_a_new_user_with_the_roles_of_their_groups(client, browser, sso):
    sso.set_user(
        "alice",
        password=PASSWORD,
        email="alice@bank.example",
        given_name="Alice",
        family_name="Able",
        groups=["mlgov-validators", "unrelated-group"],
    )
    url, params = _start(client)
    assert url.startswith(sso.discovery()["authorization_endpoint"])
    assert params["code_challenge_method"] == "S256" and len(params["code_challenge"]) >= 43
    assert params["nonce"] and params["state"] and params["client_id"] == "mlgov"
    assert params["redirect_uri"] == CALLBACK

    back = oidc_provider.sign_in_at_provider(
        browser, url, login="alice", password=PASSWORD, until=CALLBACK
    )
    response = client.get(back.removeprefix("http://testserver"))

    assert response.status_code == 302 and response["Location"] == reverse("dashboard:home")
    user = User.objects.get(provider_identities__subject="alice")
    assert (user.username, user.email, user.first_name, user.last_name) == (
        "alice",
        "alice@bank.example",
        "Alice",
        "Able",
    )
    assert not user.has_usable_password()
    assert _roles(user) == {roles.VALIDATOR}
    assert client.get(reverse("dashboard:home")).status_code == 200
    assert int(client.session["_auth_user_id"]) == user.pk
    source = f"oidc:{sso.issuer}"
    events = AuditEvent.objects.filter(object_type="accounts.user", object_id=str(user.pk))
    messages = list(events.order_by("sequence").values_list("action", "message"))
    assert messages[0] == ("create", f"Created at the first sign-in through {source}")
    assert ("update", f"Roles set from the identity provider's groups ({source})") in messages
    assert messages[-1][0] == "login"


def test_a_role_removed_at_the_provider_is_removed_at_the_next_sign_in(client, browser, sso):
    sso.set_user(
        "bruno",
        password=PASSWORD,
        email="b@bank.example",
        groups=["mlgov-validators", "mlgov-auditors"],
    )
    _sign_in(client, browser, "bruno")
    user = User.objects.get(username="bruno")
    assert _roles(user) == {roles.VALIDATOR, roles.AUDITOR}

    sso.set_user("bruno", groups=["mlgov-auditors"])
    client.logout()
    browser.cookies.clear()
    _sign_in(client, browser, "bruno")

    assert _roles(user) == {roles.AUDITOR}
    change = AuditEvent.objects.filter(object_id=str(user.pk), action="update").latest("sequence")
    assert change.changes["roles"] == {
        "before": ["auditor", "validator"],
        "after": ["auditor"],
    }
    assert change.message.endswith(f"(oidc:{sso.issuer})")
    assert change.actor is None

    # Nothing changed at the provider: a third sign-in records the sign-in only.
    before = AuditEvent.objects.filter(action="update").count()
    client.logout()
    browser.cookies.clear()
    _sign_in(client, browser, "bruno")
    assert AuditEvent.objects.filter(action="update").count() == before


def test_it_finds_people_by_subject_never_by_email(client, browser, sso):
    local = UserFactory(username="carol", email="carol@bank.example", roles=[roles.ADMIN])
    sso.set_user("carol", password=PASSWORD, email="carol@bank.example", groups=[])

    _sign_in(client, browser, "carol")

    created = User.objects.get(provider_identities__subject="carol")
    assert created.pk != local.pk and created.username == "carol-2"
    assert _roles(local) == {roles.ADMIN}
    assert _roles(created) == set()


def test_it_refuses_a_deactivated_user(client, browser, sso):
    user = UserFactory(username="dora", is_active=False, roles=[roles.VALIDATOR])
    ProviderIdentity.objects.create(
        user=user, issuer=sso.issuer, subject="dora", created_at=datetime(2026, 1, 1, tzinfo=UTC)
    )
    sso.set_user("dora", password=PASSWORD, groups=["mlgov-validators"])

    response = _sign_in(client, browser, "dora")

    assert response["Location"] == reverse("accounts:login")
    assert "_auth_user_id" not in client.session
    refusal = AuditEvent.objects.get(action="login_failed")
    assert "dora is deactivated" in refusal.message


def _refused(client, response, reason: str, users_before: int) -> None:
    assert response.status_code == 302 and response["Location"] == reverse("accounts:login")
    assert "_auth_user_id" not in client.session
    assert User.objects.count() == users_before
    refusal = AuditEvent.objects.filter(action="login_failed").latest("sequence")
    assert reason in refusal.message, refusal.message
    page = client.get(reverse("accounts:login"))
    assert "Sign-in with Test IdP was refused" in page.content.decode()


def test_it_refuses_an_id_token_with_a_wrong_signature(client, browser, sso, in_transit):
    sso.set_user("erin", password=PASSWORD, groups=["mlgov-admins"])
    forger, _ = oidc_provider.rsa_jwk(sso.kid)
    forged_key = jwt.PyJWK(forger).key

    def resign(tokens):
        claims = jwt.decode(tokens["id_token"], options={"verify_signature": False})
        claims["groups"] = ["mlgov-admins"]
        tokens["id_token"] = jwt.encode(
            claims, forged_key, algorithm="RS256", headers={"kid": sso.kid}
        )
        return tokens

    in_transit.rewrite = resign
    users = User.objects.count()
    response = _sign_in(client, browser, "erin")
    _refused(client, response, "signature does not verify", users)
    assert not ProviderIdentity.objects.filter(subject="erin").exists()


def test_it_refuses_an_id_token_meant_for_another_client(client, browser, sso, in_transit):
    sso.set_user("fay", password=PASSWORD, groups=["mlgov-validators"])
    url, params = _start(client)
    # A real token for the same person and the same nonce, issued to another application.
    other = oidc_provider.id_token_for(
        sso,
        oidc_provider.OTHER_CLIENT_ID,
        login="fay",
        password=PASSWORD,
        nonce=params["nonce"],
        redirect_uri=OTHER_CALLBACK,
    )
    in_transit.rewrite = lambda tokens: {**tokens, "id_token": other}
    users = User.objects.count()
    back = oidc_provider.sign_in_at_provider(
        browser, url, login="fay", password=PASSWORD, until=CALLBACK
    )
    response = client.get(back.removeprefix("http://testserver"))
    _refused(client, response, "not for mlgov's client 'mlgov'", users)


def test_it_refuses_an_expired_id_token(client, browser, sso, settings, in_transit):
    settings.MLGOV_OIDC_LEEWAY_SECONDS = 0
    # The provider gives this person's ID tokens one second; the answer arrives after two.
    sso.set_user("gus", password=PASSWORD, groups=["mlgov-validators"], id_token_ttl=1)

    def delay(tokens):
        time.sleep(2.5)
        return tokens

    in_transit.rewrite = delay
    users = User.objects.count()
    response = _sign_in(client, browser, "gus")
    _refused(client, response, "The ID token expired", users)


def test_it_refuses_an_id_token_replayed_from_an_earlier_sign_in(client, browser, sso, in_transit):
    sso.set_user("hana", password=PASSWORD, groups=["mlgov-validators"])
    _sign_in(client, browser, "hana")
    earlier = in_transit.seen[-1]
    client.logout()
    browser.cookies.clear()

    in_transit.rewrite = lambda tokens: {**tokens, "id_token": earlier}
    users, logins = User.objects.count(), AuditEvent.objects.filter(action="login").count()
    response = _sign_in(client, browser, "hana")
    _refused(client, response, "nonce is not the one this sign-in sent", users)
    assert AuditEvent.objects.filter(action="login").count() == logins


def test_signing_out_ends_the_session_at_the_provider_too(client, browser, sso):
    sso.set_user("ivo", password=PASSWORD, groups=["mlgov-auditors"])
    _sign_in(client, browser, "ivo")
    id_token = client.session["oidc_id_token"]

    response = client.post(reverse("accounts:logout"))

    assert "_auth_user_id" not in client.session
    end = urlsplit(response["Location"])
    found = sso.discovery()
    assert f"{end.scheme}://{end.netloc}{end.path}" == found["end_session_endpoint"]
    query = {k: v[0] for k, v in parse_qs(end.query).items()}
    assert query["id_token_hint"] == id_token
    assert query["post_logout_redirect_uri"] == SIGNED_OUT
    # The browser goes on to the provider, confirms, and comes back to mlgov's sign-in page.
    page = browser.get(response["Location"], timeout=10)
    action = re.search(r'<form[^>]*action="([^"]+)"', page.text).group(1)
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
    confirm = browser.post(
        urljoin(page.url, action),
        data={**hidden, "logout": "yes"},
        allow_redirects=False,
        timeout=10,
    )
    assert confirm.headers["Location"].startswith(SIGNED_OUT)
    # The provider's session is gone: a new sign-in asks for the password again.
    url, _ = _start(client)
    login_page = browser.get(url, timeout=10)
    assert 'name="login"' in login_page.text


def test_the_sign_in_page_offers_the_provider_when_configured(client, sso):
    page = client.get(reverse("accounts:login")).content.decode()
    assert "Sign in with Test IdP" in page
    assert reverse("identity:oidc_login") in page
    assert 'name="password"' in page  # local passwords stay on by default


def test_without_a_provider_nothing_changes(client, db, settings):
    settings.MLGOV_OIDC_ISSUER = ""
    assert client.get(reverse("identity:oidc_login")).status_code == 404
    assert client.get(reverse("identity:oidc_callback")).status_code == 404
    assert "Sign in with" not in client.get(reverse("accounts:login")).content.decode()
