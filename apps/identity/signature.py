"""Signatures under single sign-on: a fresh re-authentication at the provider
(``prompt=login``, ``max_age=0``) whose ID token mlgov checks before a signature is recorded
(registered into ``apps.accounts.signatures`` by this app's ``ready()``).

The browser's round trip reuses the sign-in's pieces: the provider's endpoints from
discovery, PKCE (mozilla-django-oidc's ``generate_code_challenge``), the token exchange
through the egress guard and the full ID-token check (``provider.verify_id_token``). What a
signature adds is checked by ``oidc.check_reauthentication``: the token names the signed-in
user's subject, and its ``auth_time`` is after the signature began and fresh.

Pending signatures are kept in the session by their ``state`` (a few at most), and taken
out when the provider answers: a state is answered once, and an answer later than
``MLGOV_OIDC_SIGNATURE_CHALLENGE_SECONDS`` after the signature began is refused.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse
from mozilla_django_oidc.utils import generate_code_challenge

from apps.accounts.signatures import (
    ProviderCredential,
    ProviderSigning,
    SignatureMethod,
    SignatureProof,
)
from apps.core import clock
from apps.core.errors import ApplicationError
from apps.identity import oidc, provider
from apps.identity.backends import ID_TOKEN_SESSION_KEY
from apps.identity.models import ProviderIdentity
from apps.identity.signin import provider_name

#: Where the session keeps the signatures waiting for the provider's answer, by state.
PENDING_SESSION_KEY = "mlgov_pending_signatures"
MAX_PENDING = 5


def linked(user) -> bool:
    return ProviderIdentity.objects.filter(user=user, issuer=provider.issuer()).exists()


def session_began_there(http_request: HttpRequest) -> bool:
    return bool(http_request.session.get(ID_TOKEN_SESSION_KEY))


def callback_url(http_request: HttpRequest) -> str:
    return http_request.build_absolute_uri(reverse("identity:signature_callback"))


def start(http_request: HttpRequest, pending: dict[str, Any]) -> str:
    """Keep ``pending`` in the session under a new state, with a fresh nonce, a PKCE
    verifier and the time the signature began; the URL that sends the browser to the provider
    to authenticate again, whatever session it holds there."""
    endpoint = provider.discovery().authorization_endpoint
    state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    verifier = secrets.token_urlsafe(64)
    waiting = {s: e for s, e in _pending(http_request).items() if not _expired(e)}
    now = clock.now()
    waiting[state] = {
        **pending,
        "nonce": nonce,
        "code_verifier": verifier,
        "started_at": now.isoformat(),
    }
    # The oldest go first: a browser holds a few signatures open at most.
    for old in sorted(waiting, key=lambda s: waiting[s]["started_at"])[:-MAX_PENDING]:
        waiting.pop(old)
    http_request.session[PENDING_SESSION_KEY] = waiting
    query = {
        "response_type": "code",
        "client_id": provider.client_id(),
        "redirect_uri": callback_url(http_request),
        "scope": "openid",
        "state": state,
        "nonce": nonce,
        "prompt": "login",
        "max_age": "0",
        "code_challenge": generate_code_challenge(verifier, "S256"),
        "code_challenge_method": "S256",
    }
    separator = "&" if "?" in endpoint else "?"
    return f"{endpoint}{separator}{urlencode(query)}"


def _expired(entry: dict[str, Any]) -> bool:
    began = datetime.fromisoformat(entry["started_at"])
    return (clock.now() - began).total_seconds() > settings.MLGOV_OIDC_SIGNATURE_CHALLENGE_SECONDS


def _pending(http_request: HttpRequest) -> dict[str, dict[str, Any]]:
    return dict(http_request.session.get(PENDING_SESSION_KEY) or {})


def pending_take(http_request: HttpRequest, state: str) -> dict[str, Any] | None:
    """The pending signature ``state`` names, taken out of the session (answered once), with
    ``expired`` set when the provider answered too late; None when there is none (used
    already, or never begun in this session). Other expired ones are dropped."""
    waiting = _pending(http_request)
    entry = waiting.pop(state, None) if state else None
    http_request.session[PENDING_SESSION_KEY] = {
        s: e for s, e in waiting.items() if not _expired(e)
    }
    if entry is not None:
        entry["expired"] = _expired(entry)
    return entry


def credential_from_code(
    http_request: HttpRequest, *, code: str, pending: dict[str, Any]
) -> ProviderCredential:
    """Trade the provider's code for the ID token (PKCE verifier of this signature)."""
    if not code:
        raise ApplicationError("The provider sent no authorisation code.")
    tokens = provider.token_exchange(
        {
            "client_id": provider.client_id(),
            "client_secret": settings.MLGOV_OIDC_CLIENT_SECRET,
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": callback_url(http_request),
            "code_verifier": pending["code_verifier"],
        }
    )
    return ProviderCredential(
        id_token=tokens.get("id_token") or "",
        nonce=pending["nonce"],
        started_at=datetime.fromisoformat(pending["started_at"]),
    )


def verify(user, credential: ProviderCredential) -> SignatureProof:
    """The proof of a signature by ``user``: the ID token passes every sign-in check (with
    the signature's nonce) and names the user's subject with a fresh ``auth_time``."""
    claims = provider.verify_id_token(credential.id_token, nonce=credential.nonce)
    subjects = set(
        ProviderIdentity.objects.filter(user=user, issuer=provider.issuer()).values_list(
            "subject", flat=True
        )
    )
    auth_time = oidc.check_reauthentication(
        claims,
        subject_claim=settings.MLGOV_OIDC_SUBJECT_CLAIM,
        subjects=subjects,
        started_at=credential.started_at,
        now=clock.now(),
        max_age=settings.MLGOV_OIDC_SIGNATURE_MAX_AGE_SECONDS,
        skew=settings.MLGOV_OIDC_SIGNATURE_SKEW_SECONDS,
    )
    return SignatureProof(
        method=SignatureMethod.PROVIDER, issuer=provider.issuer(), auth_time=auth_time
    )


SIGNING = ProviderSigning(
    enabled=provider.configured,
    name=provider_name,
    linked=linked,
    session_began_there=session_began_there,
    start=start,
    verify=verify,
)
