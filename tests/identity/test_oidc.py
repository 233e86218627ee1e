"""Checking an ID token, without a provider: every claim check, and the algorithms and keys
mlgov refuses. (test_sign_in.py refuses the real provider's tokens.)"""

from __future__ import annotations

from datetime import UTC, datetime

import jwt
import pytest

from apps.identity import oidc
from tests.identity.provider import rsa_jwk

ISSUER = "https://idp.bank.example"
NOW = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
PRIVATE, KEY = rsa_jwk("k1")
PUBLIC = {k: v for k, v in PRIVATE.items() if k in {"kty", "n", "e", "kid", "use", "alg"}}
JWKS = {"keys": [PUBLIC]}


def _token(key=KEY, kid="k1", alg="RS256", **claims) -> str:
    body = {
        "iss": ISSUER,
        "aud": "mlgov",
        "sub": "s-1",
        "nonce": "n-1",
        "iat": int(NOW.timestamp()) - 10,
        "exp": int(NOW.timestamp()) + 300,
        **claims,
    }
    return jwt.encode(body, key, algorithm=alg, headers={"kid": kid} if kid else None)


def _verify(token: str, **overrides):
    checks = {
        "jwks": JWKS,
        "issuer": ISSUER,
        "client_id": "mlgov",
        "nonce": "n-1",
        "now": NOW,
        "leeway": 30,
        **overrides,
    }
    return oidc.verify_id_token(token, **checks)


def test_it_accepts_a_good_token():
    assert _verify(_token())["sub"] == "s-1"
    assert _verify(_token(aud=["mlgov", "api"], azp="mlgov"))["sub"] == "s-1"


@pytest.mark.parametrize(
    ("token_claims", "reason"),
    [
        ({"iss": "https://evil.example"}, "issued by 'https://evil.example'"),
        ({"aud": "other-app"}, "meant for 'other-app'"),
        ({"aud": ["other-app", "mlgov"], "azp": "other-app"}, "not its azp"),
        ({"exp": int(NOW.timestamp()) - 31}, "expired 31 seconds ago"),
        ({"iat": int(NOW.timestamp()) + 31}, "dated in the future"),
        ({"nonce": "n-2"}, "nonce is not the one"),
        ({"nonce": None}, "nonce is not the one"),
        ({"exp": "tomorrow"}, "no valid 'exp'"),
    ],
)
def test_it_refuses_a_token_whose_claims_fail(token_claims, reason):
    with pytest.raises(oidc.TokenRefused, match=reason):
        _verify(_token(**token_claims))


def test_the_leeway_covers_a_small_clock_difference():
    assert _verify(_token(exp=int(NOW.timestamp()) - 29))


def test_it_refuses_a_signature_by_another_key():
    _, other = rsa_jwk("k1")
    with pytest.raises(oidc.TokenRefused, match="signature does not verify"):
        _verify(_token(key=other))


def test_it_refuses_unsigned_and_shared_secret_tokens():
    unsigned = jwt.encode({"iss": ISSUER}, None, algorithm="none")
    with pytest.raises(oidc.TokenRefused, match="'none'"):
        _verify(unsigned)
    shared = _token(key="the-client-secret-that-is-long-enough!", alg="HS256")
    with pytest.raises(oidc.TokenRefused, match="'HS256'"):
        _verify(shared)


def test_an_unknown_key_id_asks_for_the_keys_again():
    with pytest.raises(oidc.KeyNotFound):
        _verify(_token(kid="rotated"))


def test_it_checks_the_discovery_document_names_the_issuer():
    good = {
        "issuer": ISSUER,
        "authorization_endpoint": f"{ISSUER}/auth",
        "token_endpoint": f"{ISSUER}/token",
        "jwks_uri": f"{ISSUER}/jwks",
    }
    found = oidc.parse_discovery(good, issuer=ISSUER)
    assert found.token_auth_methods == ("client_secret_basic",)
    assert found.end_session_endpoint == ""
    with pytest.raises(oidc.ProviderError, match="names the issuer"):
        oidc.parse_discovery({**good, "issuer": f"{ISSUER}/"}, issuer=ISSUER)
    with pytest.raises(oidc.ProviderError, match="jwks_uri"):
        oidc.parse_discovery({**good, "jwks_uri": None}, issuer=ISSUER)


# --- a re-authentication for a signature ------------------------------------------------------

STARTED = datetime(2026, 12, 3, 9, 59, 30, tzinfo=UTC)  # the signature began 30 s before NOW


def _reauth(**claims):
    body = {"sub": "s-1", "auth_time": int(NOW.timestamp()) - 20, **claims}
    return oidc.check_reauthentication(
        body,
        subject_claim="sub",
        subjects={"s-1"},
        started_at=STARTED,
        now=NOW,
        max_age=120,
        skew=5,
    )


def test_a_fresh_auth_time_is_the_signature_time():
    assert _reauth() == datetime(2026, 12, 3, 9, 59, 40, tzinfo=UTC)
    # Within the skew before the signature began (the two clocks differ a little).
    assert _reauth(auth_time=int(STARTED.timestamp()) - 5).second == 25


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"auth_time": int(STARTED.timestamp()) - 6}, "before this signature began"),
        ({"auth_time": int(NOW.timestamp()) - 3600}, "before this signature began"),
        ({"auth_time": None}, "no valid 'auth_time'"),
        ({"auth_time": "1764755980"}, "no valid 'auth_time'"),
        ({"auth_time": int(NOW.timestamp()) + 60}, "in the future"),
        ({"sub": "s-2"}, "not for the person signed in"),
    ],
)
def test_a_re_authentication_that_is_not_fresh_or_not_theirs_is_refused(claims, reason):
    with pytest.raises(oidc.TokenRefused, match=reason):
        _reauth(**claims)


def test_a_re_authentication_without_auth_time_is_refused():
    with pytest.raises(oidc.TokenRefused, match="does not say when"):
        oidc.check_reauthentication(
            {"sub": "s-1"},
            subject_claim="sub",
            subjects={"s-1"},
            started_at=STARTED,
            now=NOW,
            max_age=120,
            skew=5,
        )


def test_an_auth_time_older_than_the_max_age_is_refused_even_after_the_start():
    with pytest.raises(oidc.TokenRefused, match="more than the 10 seconds"):
        oidc.check_reauthentication(
            {"sub": "s-1", "auth_time": int(NOW.timestamp()) - 20},
            subject_claim="sub",
            subjects={"s-1"},
            started_at=STARTED,
            now=NOW,
            max_age=10,
            skew=5,
        )
