"""The real OpenID provider for this package's tests, one per module, and mlgov configured to
use it (in process: the Django test client plays mlgov's side, ``requests`` the browser's at
the provider)."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from tests.identity import provider as oidc_provider

# A port of this package's own (18300–18349 are the identity tests').
PROVIDER_PORT = 18310
CALLBACK = "http://testserver/oidc/callback/"
SIGNED_OUT = "http://testserver/accounts/login/"
OTHER_CALLBACK = "http://testserver/other-app/callback/"
GROUP_ROLES = (
    ("mlgov-validators", "validator"),
    ("mlgov-auditors", "auditor"),
    ("mlgov-admins", "admin"),
)


@pytest.fixture(scope="module")
def oidc(tmp_path_factory):
    with oidc_provider.running(
        tmp_path_factory.mktemp("oidc"),
        port=PROVIDER_PORT,
        redirect_uris=[CALLBACK, OTHER_CALLBACK],
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
