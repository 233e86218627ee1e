"""The real OpenID provider for this package's tests, one per module, and mlgov configured to
use it (in process: the Django test client plays mlgov's side, ``requests`` the browser's at
the provider)."""

from __future__ import annotations

import dataclasses
import json
import os
from types import SimpleNamespace

import pytest
import requests
from django.core.cache import cache

from apps.core import egress
from tests.identity import provider as oidc_provider

# A port of this package's own (18300–18349 are the identity tests'), or the one
# MLGOV_TEST_OIDC_PORT names (when several test runs share a machine).
PROVIDER_PORT = int(os.environ.get("MLGOV_TEST_OIDC_PORT") or 18310)
CALLBACK = "http://testserver/oidc/callback/"
SIGNATURE_CALLBACK = "http://testserver/oidc/signature/callback/"
SIGNED_OUT = "http://testserver/accounts/login/"
OTHER_CALLBACK = "http://testserver/other-app/callback/"
GROUP_ROLES = (
    ("mlgov-validators", "validator"),
    ("mlgov-auditors", "auditor"),
    ("mlgov-admins", "admin"),
    ("mlgov-business-owners", "business_owner"),
)


@pytest.fixture(scope="module")
def oidc(tmp_path_factory):
    with oidc_provider.running(
        tmp_path_factory.mktemp("oidc"),
        port=PROVIDER_PORT,
        redirect_uris=[CALLBACK, SIGNATURE_CALLBACK, OTHER_CALLBACK],
        logout_uris=[SIGNED_OUT],
    ) as running:
        yield running


@pytest.fixture
def sso(settings, oidc):
    """mlgov signing in through the test provider."""
    settings.MLGOV_OIDC_ISSUER = oidc.issuer
    settings.MLGOV_OIDC_CLIENT_ID = oidc_provider.CLIENT_ID
    settings.MLGOV_OIDC_CLIENT_SECRET = oidc.secrets[oidc_provider.CLIENT_ID]
    settings.MLGOV_OIDC_PROVIDER_NAME = "Test IdP"
    settings.MLGOV_OIDC_GROUP_ROLES = GROUP_ROLES
    settings.MLGOV_EGRESS_ALLOW = [oidc.allow]
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    cache.clear()
    yield oidc
    cache.clear()


@pytest.fixture
def browser():
    with requests.Session() as session:
        yield session


@pytest.fixture
def in_transit(monkeypatch):
    """Rewrites the token endpoint's answer on its way to mlgov: set ``rewrite`` to a
    function of the answer's JSON; ``seen`` keeps the ID tokens that came."""

    relay = SimpleNamespace(rewrite=None, seen=[])
    real = egress.request

    def request(method, url, **kwargs):
        answer = real(method, url, **kwargs)
        if method == "POST":
            tokens = json.loads(answer.body)
            relay.seen.append(tokens.get("id_token"))
            if relay.rewrite is not None:
                tokens = relay.rewrite(tokens)
                answer = dataclasses.replace(answer, body=json.dumps(tokens).encode())
        return answer

    monkeypatch.setattr(egress, "request", request)
    return relay
