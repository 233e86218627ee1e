"""OpenID Connect, the parts that need neither the database nor the network: the provider's
discovery document, checking an ID token, and what mlgov takes from its claims.

An ID token is accepted only when (OpenID Connect Core 1.0, 3.1.3.7): it is signed with an
asymmetric algorithm by a key the provider publishes (never ``none``, never a shared secret);
``iss`` is the configured issuer exactly; ``aud`` names mlgov's client (and ``azp`` does, when
there are other audiences); ``exp`` has not passed and ``iat`` is not in the future (within
the leeway); ``nonce`` is the one this browser's sign-in sent. A refusal raises
``TokenRefused`` with the reason, which the audit trail records.
"""

from __future__ import annotations

import hmac
import re
import unicodedata
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import jwt
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from apps.core.errors import ApplicationError

# Asymmetric signatures only: a token signed with the client secret (HS256) would be one
# anybody holding the secret could forge, and ``none`` is no signature at all.
ALGORITHMS = (
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "ES512",
    "EdDSA",
)
KEY_TYPES = {"RS": "RSA", "PS": "RSA", "ES": "EC", "Ed": "OKP"}


class ProviderError(ApplicationError):
    """The provider could not be used (discovery, keys, the token endpoint)."""


class TokenRefused(ApplicationError):
    """An ID token (or the claims in it) was not accepted; the message says why."""


class KeyNotFound(TokenRefused):
    """No published key matches the token's header: the keys may have rotated."""


@dataclass(frozen=True)
class Discovery:
    """What mlgov uses of the provider's ``/.well-known/openid-configuration``."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    end_session_endpoint: str = ""
    token_auth_methods: tuple[str, ...] = ("client_secret_basic",)


def discovery_url(issuer: str) -> str:
    return issuer.rstrip("/") + "/.well-known/openid-configuration"


def parse_discovery(document: Any, *, issuer: str) -> Discovery:
    """Check a discovery document: it must name exactly the configured issuer (OpenID Connect
    Discovery 1.0, 4.3) and give the endpoints mlgov uses."""
    if not isinstance(document, Mapping):
        raise ProviderError(f"{discovery_url(issuer)} did not answer a JSON object.")
    if document.get("issuer") != issuer:
        raise ProviderError(
            f"The provider's discovery document names the issuer {document.get('issuer')!r}, "
            f"not {issuer!r}: set MLGOV_OIDC_ISSUER to the issuer exactly as the provider "
            "names it (with or without the trailing slash)."
        )
    missing = [
        name
        for name in ("authorization_endpoint", "token_endpoint", "jwks_uri")
        if not isinstance(document.get(name), str) or not document.get(name)
    ]
    if missing:
        raise ProviderError(
            f"The provider's discovery document gives no {', '.join(missing)}: mlgov needs "
            "the authorisation code flow with signed ID tokens."
        )
    methods = document.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
    end_session = document.get("end_session_endpoint")
    return Discovery(
        issuer=issuer,
        authorization_endpoint=document["authorization_endpoint"],
        token_endpoint=document["token_endpoint"],
        jwks_uri=document["jwks_uri"],
        end_session_endpoint=end_session if isinstance(end_session, str) else "",
        token_auth_methods=tuple(m for m in methods if isinstance(m, str)),
    )


def _matching_key(jwks: Mapping[str, Any], header: Mapping[str, Any]) -> jwt.PyJWK:
    alg = header["alg"]
    kid = header.get("kid")
    kty = KEY_TYPES[alg[:2]]
    keys = jwks.get("keys") if isinstance(jwks, Mapping) else None
    candidates = [
        key
        for key in (keys if isinstance(keys, list) else [])
        if isinstance(key, Mapping)
        and key.get("kty") == kty
        and key.get("use", "sig") == "sig"
        and key.get("alg", alg) == alg
        and (kid is None or key.get("kid") == kid)
    ]
    if len(candidates) != 1:
        which = f"key id {kid!r}" if kid is not None else "no key id"
        raise KeyNotFound(
            f"The ID token names {which} for {alg}, which matches "
            f"{len(candidates) or 'none'} of the provider's published keys."
        )
    try:
        return jwt.PyJWK(dict(candidates[0]), algorithm=alg)
    except jwt.PyJWTError as exc:
        raise TokenRefused(f"The provider's key for {alg} cannot be used: {exc}.") from exc


def verify_id_token(
    token: str,
    *,
    jwks: Mapping[str, Any],
    issuer: str,
    client_id: str,
    nonce: str,
    now: datetime,
    leeway: int,
) -> dict[str, Any]:
    """The claims of ``token`` once every check above has passed; TokenRefused otherwise
    (KeyNotFound when no published key matches, so the caller may fetch the keys again)."""
    if not isinstance(token, str) or not token:
        raise TokenRefused("The provider's answer held no ID token.")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise TokenRefused("The ID token is not a signed JWT.") from exc
    alg = header.get("alg")
    if alg not in ALGORITHMS:
        raise TokenRefused(f"The ID token is signed with {alg!r}, which mlgov does not accept.")
    key = _matching_key(jwks, header)
    try:
        claims = jwt.decode(
            token,
            key=key,
            algorithms=[alg],
            options={
                "verify_signature": True,
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
                "verify_aud": False,
                "verify_iss": False,
            },
        )
    except jwt.InvalidSignatureError as exc:
        raise TokenRefused(
            "The ID token's signature does not verify with the provider's published key."
        ) from exc
    except jwt.PyJWTError as exc:
        raise TokenRefused(f"The ID token cannot be read: {exc}.") from exc
    check_claims(claims, issuer=issuer, client_id=client_id, nonce=nonce, now=now, leeway=leeway)
    return claims


def _number(claims: Mapping[str, Any], name: str) -> float:
    value = claims.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TokenRefused(f"The ID token has no valid {name!r} claim.")
    return float(value)


def check_claims(
    claims: Mapping[str, Any],
    *,
    issuer: str,
    client_id: str,
    nonce: str,
    now: datetime,
    leeway: int,
) -> None:
    """The checks on a signed ID token's claims (issuer, audience, times, nonce)."""
    if claims.get("iss") != issuer:
        raise TokenRefused(f"The ID token was issued by {claims.get('iss')!r}, not by {issuer!r}.")
    audience = claims.get("aud")
    audiences = [audience] if isinstance(audience, str) else audience
    if not isinstance(audiences, list) or client_id not in audiences:
        raise TokenRefused(
            f"The ID token is meant for {audience!r}, not for mlgov's client {client_id!r}."
        )
    if len(audiences) > 1 and claims.get("azp") != client_id:
        raise TokenRefused("The ID token has several audiences and mlgov is not its azp.")
    moment = now.timestamp()
    expires = _number(claims, "exp")
    if moment > expires + leeway:
        raise TokenRefused(
            f"The ID token expired {int(moment - expires)} seconds ago (leeway {leeway} seconds)."
        )
    issued = _number(claims, "iat")
    if issued > moment + leeway:
        raise TokenRefused("The ID token is dated in the future; check the servers' clocks.")
    sent = claims.get("nonce")
    if not nonce or not isinstance(sent, str) or not hmac.compare_digest(sent, nonce):
        raise TokenRefused(
            "The ID token's nonce is not the one this sign-in sent: a token replayed from "
            "another sign-in."
        )


def check_reauthentication(
    claims: Mapping[str, Any],
    *,
    subject_claim: str,
    subjects: Collection[str],
    started_at: datetime,
    now: datetime,
    max_age: int,
    skew: int,
) -> datetime:
    """The ``auth_time`` of a verified ID token that signs for a user (OpenID Connect Core
    1.0, 3.1.2.1 ``max_age`` and 2 ``auth_time``): it names one of the user's linked
    ``subjects``, and the provider authenticated the person after the signature began (less
    ``skew`` seconds of clock difference) and at most ``max_age`` seconds ago. A token from an
    earlier sign-in at the provider, kept by its session, is refused here."""
    subject = claims.get(subject_claim)
    if not isinstance(subject, str) or subject not in subjects:
        raise TokenRefused(
            f"The ID token is for subject {subject!r}, not for the person signed in to mlgov."
        )
    if "auth_time" not in claims:
        raise TokenRefused(
            "The ID token does not say when the person authenticated (no 'auth_time')."
        )
    auth_time = _number(claims, "auth_time")
    moment = now.timestamp()
    # auth_time is in whole seconds: a sign-in in the second the signature began is fresh.
    if auth_time < int(started_at.timestamp()) - skew:
        raise TokenRefused(
            f"The provider last authenticated the person {int(moment - auth_time)} seconds "
            "ago, before this signature began: the re-authentication was not fresh"
        )
    if moment - auth_time > max_age:
        raise TokenRefused(
            f"The provider's authentication is {int(moment - auth_time)} seconds old, more "
            f"than the {max_age} seconds a signature allows: the re-authentication was not fresh"
        )
    if auth_time > moment + skew:
        raise TokenRefused("The ID token's auth_time is in the future; check the servers' clocks.")
    return datetime.fromtimestamp(auth_time, tz=UTC)


# --- what mlgov takes from the claims --------------------------------------------------------


@dataclass(frozen=True)
class Profile:
    """A person as the ID token describes them."""

    subject: str
    groups: tuple[str, ...]
    email: str
    first_name: str
    last_name: str
    preferred_username: str


def _text(claims: Mapping[str, Any], name: str, limit: int) -> str:
    value = claims.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


def profile_from_claims(
    claims: Mapping[str, Any], *, subject_claim: str, groups_claim: str
) -> Profile:
    """Subject, groups, name and e-mail from verified claims. The subject is required; an
    e-mail address that is not valid is left out (it is never used to find the user)."""
    subject = claims.get(subject_claim)
    if not isinstance(subject, str) or not subject.strip():
        raise TokenRefused(
            f"The ID token has no {subject_claim!r} claim to identify the person "
            "(MLGOV_OIDC_SUBJECT_CLAIM)."
        )
    raw_groups = claims.get(groups_claim)
    names = claims.get("_claim_names")
    if raw_groups is None and isinstance(names, Mapping) and groups_claim in names:
        # Entra ID leaves the groups out and points elsewhere when a user is in too many.
        raise TokenRefused(
            f"The provider left the {groups_claim!r} claim out (too many groups, an "
            "'overage'): send only the groups assigned to the application."
        )
    if isinstance(raw_groups, str):
        raw_groups = [raw_groups]
    groups = tuple(g for g in raw_groups or () if isinstance(g, str))
    email = _text(claims, "email", 254)
    try:
        validate_email(email)
    except ValidationError:
        email = ""
    first, last = _text(claims, "given_name", 150), _text(claims, "family_name", 150)
    if not first and not last:
        first = _text(claims, "name", 150)
    return Profile(
        subject=subject.strip(),
        groups=groups,
        email=email,
        first_name=first,
        last_name=last,
        preferred_username=_text(claims, "preferred_username", 254),
    )


_NOT_IN_USERNAME = re.compile(r"[^\w.@+-]+", re.ASCII)


def username_candidates(profile: Profile, *, limit: int = 150) -> Iterator[str]:
    """Usernames to try for a new user, most natural first: the provider's preferred
    username, else the e-mail address, else ``user``, in the characters Django allows, then
    the same with ``-2``, ``-3``… appended. Never how a user is found: only what is shown."""
    source = profile.preferred_username or profile.email or "user"
    ascii_only = unicodedata.normalize("NFKD", source).encode("ascii", "ignore").decode()
    base = _NOT_IN_USERNAME.sub("-", ascii_only).strip("-.") or "user"
    base = base[: limit - 8]
    yield base
    for n in range(2, 10_000):
        yield f"{base}-{n}"
