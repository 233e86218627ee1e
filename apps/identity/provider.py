"""mlgov's calls to the identity provider: its discovery document, its signing keys and its
token endpoint, all through the egress guard (apps/core/egress.py). A provider on a private
address is reached once the operator allow-lists it (``MLGOV_EGRESS_ALLOW``), like any other
outbound request.

The discovery document and the keys are cached (``MLGOV_OIDC_DISCOVERY_TTL_SECONDS``) in the
shared cache, so a sign-in costs one request to the provider (the token exchange); a token
signed by a key mlgov has not seen makes it fetch the keys again, at most once a minute.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from typing import Any
from urllib.parse import quote, urlencode

from django.conf import settings
from django.core.cache import cache

from apps.core import clock, egress
from apps.identity import oidc

MAX_BYTES = 512 * 1024
KEYS_REFETCH_SECONDS = 60


def configured() -> bool:
    return bool(settings.MLGOV_OIDC_ISSUER)


def issuer() -> str:
    return settings.MLGOV_OIDC_ISSUER


def client_id() -> str:
    return settings.MLGOV_OIDC_CLIENT_ID


def source() -> str:
    """How the audit trail names the provider as the source of a change."""
    return f"oidc:{issuer()}"


def _cache_key(kind: str) -> str:
    digest = hashlib.sha256(issuer().encode()).hexdigest()[:16]
    return f"mlgov:oidc:{kind}:{digest}"


def _get_json(url: str, *, what: str) -> Any:
    try:
        answer = egress.request(
            "GET",
            url,
            headers={"Accept": "application/json"},
            timeout=settings.MLGOV_OIDC_TIMEOUT_SECONDS,
            max_bytes=MAX_BYTES,
        )
    except egress.EgressError as exc:
        raise oidc.ProviderError(f"The provider's {what} could not be read: {exc.message}") from exc
    if answer.status != 200:
        raise oidc.ProviderError(f"The provider's {what} ({url}) answered {answer.status}.")
    try:
        return json.loads(answer.body)
    except ValueError as exc:
        raise oidc.ProviderError(f"The provider's {what} ({url}) is not JSON.") from exc


def discovery() -> oidc.Discovery:
    """The provider's endpoints, from ``<issuer>/.well-known/openid-configuration``."""
    key = _cache_key("discovery")
    document = cache.get(key)
    if document is None:
        document = _get_json(oidc.discovery_url(issuer()), what="discovery document")
        found = oidc.parse_discovery(document, issuer=issuer())
        cache.set(key, document, settings.MLGOV_OIDC_DISCOVERY_TTL_SECONDS)
        return found
    return oidc.parse_discovery(document, issuer=issuer())


def _keys(*, refresh: bool) -> dict[str, Any]:
    key = _cache_key("jwks")
    held = cache.get(key)
    if held is not None and not (refresh and time.time() - held["at"] > KEYS_REFETCH_SECONDS):
        return held["jwks"]
    jwks = _get_json(discovery().jwks_uri, what="signing keys")
    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
        raise oidc.ProviderError("The provider's signing keys are not a JWK set.")
    cache.set(key, {"jwks": jwks, "at": time.time()}, settings.MLGOV_OIDC_DISCOVERY_TTL_SECONDS)
    return jwks


def verify_id_token(token: str, *, nonce: str) -> dict[str, Any]:
    """The claims of an ID token from the provider's token endpoint, every check made
    (``oidc.verify_id_token``); the keys are fetched again once if none matches."""
    checks = {
        "issuer": issuer(),
        "client_id": settings.MLGOV_OIDC_CLIENT_ID,
        "nonce": nonce,
        "now": clock.now(),
        "leeway": settings.MLGOV_OIDC_LEEWAY_SECONDS,
    }
    try:
        return oidc.verify_id_token(token, jwks=_keys(refresh=False), **checks)
    except oidc.KeyNotFound:
        return oidc.verify_id_token(token, jwks=_keys(refresh=True), **checks)


def token_exchange(payload: dict[str, str]) -> dict[str, Any]:
    """Trade the authorisation code for tokens at the provider's token endpoint, the client
    authenticating with HTTP Basic (``client_secret_basic``, OpenID Connect's default) or,
    when the provider offers only that, in the body (``client_secret_post``)."""
    found = discovery()
    body = dict(payload)
    headers = {
        "Accept": "application/json",
        "Content-Type": "application/x-www-form-urlencoded",
    }
    if "client_secret_basic" in found.token_auth_methods:
        client_id, secret = body.pop("client_id"), body.pop("client_secret")
        # RFC 6749 2.3.1: each part form-encoded before Basic.
        pair = f"{quote(client_id, safe='')}:{quote(secret, safe='')}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
    try:
        answer = egress.request(
            "POST",
            found.token_endpoint,
            body=urlencode(body).encode(),
            headers=headers,
            timeout=settings.MLGOV_OIDC_TIMEOUT_SECONDS,
            max_bytes=MAX_BYTES,
        )
    except egress.EgressError as exc:
        raise oidc.ProviderError(f"The provider's token endpoint failed: {exc.message}") from exc
    try:
        tokens = json.loads(answer.body)
    except ValueError:
        tokens = None
    if answer.status != 200 or not isinstance(tokens, dict):
        error = tokens.get("error", "") if isinstance(tokens, dict) else ""
        raise oidc.ProviderError(
            f"The provider's token endpoint refused the sign-in ({answer.status} "
            f"{str(error)[:100]})."
        )
    return tokens


def end_session_url(*, id_token: str, post_logout_redirect_uri: str) -> str | None:
    """Where the browser goes to end its session at the provider (RP-initiated logout), or
    None when the provider offers no end-session endpoint or cannot be reached now."""
    try:
        endpoint = discovery().end_session_endpoint
    except oidc.ProviderError:
        return None
    if not endpoint:
        return None
    query = {
        "client_id": settings.MLGOV_OIDC_CLIENT_ID,
        "post_logout_redirect_uri": post_logout_redirect_uri,
    }
    if id_token:
        query["id_token_hint"] = id_token
    separator = "&" if "?" in endpoint else "?"
    return f"{endpoint}{separator}{urlencode(query)}"
