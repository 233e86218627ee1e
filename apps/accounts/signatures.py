"""Electronic signatures: how a user signs, and the proof a signed record keeps.

A local user signs by re-entering their password (``password_reauthenticate``). A user who
signs in through the organisation's identity provider has no usable password in mlgov: they
sign by re-authenticating at the provider (``prompt=login``, ``max_age=0``), and mlgov
accepts the ID token that comes back only when it is the provider's, for mlgov, carries the
nonce mlgov sent for this signature, names the signed-in user's linked subject, and its
``auth_time`` is fresh (``MLGOV_OIDC_SIGNATURE_MAX_AGE_SECONDS``). Either way the record
keeps a ``SignatureProof``: the method, and for the provider its issuer and ``auth_time``.

The provider's app (apps.identity, a higher layer) registers its part here in its
``AppConfig.ready()``, as it registers its sign-in in ``apps.accounts.signin``; the apps that
collect signatures (approvals) register what completes a signature begun in the browser.

Two ways to carry a provider signature:

- the browser: the signing page stores the pending signature in the session and sends the
  browser to the provider; the provider's answer comes back to the identity app's signature
  callback, which trades the code for the ID token and completes the signature
  (``complete``) with the nonce and start time it kept;
- an API client: it asks for a challenge (``challenge_issue``: a single-use nonce, bound to
  the user and the object, short-lived), obtains an ID token from the provider with that
  nonce, ``prompt=login`` and ``max_age=0``, and sends it with its decision
  (``challenge_take`` finds the challenge again by the token's nonce and uses it up).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt
from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse

from apps.accounts.choices import SignatureMethod
from apps.accounts.services import SignatureAttempt, password_reauthenticate, signature_refused
from apps.accounts.signin import local_login_allowed
from apps.core import clock
from apps.core.errors import ApplicationError


@dataclass(frozen=True)
class SignatureProof:
    """How a signature was made: the method, and for the provider its issuer and the
    ``auth_time`` of the re-authentication the ID token attests."""

    method: str
    issuer: str = ""
    auth_time: datetime | None = None

    def describe(self) -> str:
        if self.method == SignatureMethod.PROVIDER:
            when = self.auth_time.isoformat() if self.auth_time else "an unknown time"
            return f"re-authenticated at {self.issuer} (auth_time {when})"
        return "password re-entered"

    def note(self) -> dict[str, str]:
        """What an audit event records of the signature."""
        note = {"method": self.method}
        if self.method == SignatureMethod.PROVIDER:
            note["issuer"] = self.issuer
            note["auth_time"] = self.auth_time.isoformat() if self.auth_time else ""
        return note


PASSWORD_PROOF = SignatureProof(method=SignatureMethod.PASSWORD)


def signed_note(user, proof: SignatureProof) -> dict[str, str]:
    """What an audit event records of a signature of a change made outside the approval
    engine (a rollback, a move out of production, a signed lifecycle move): who signed, when,
    and how (``SignatureProof.note``), so the trail reads it as an electronic signature."""
    return {
        "signed_by": user.get_username(),
        "signed_at": clock.now().isoformat(),
        **proof.note(),
    }


def signed_text(user, proof: SignatureProof) -> str:
    """The sentence a signed change's records carry: "Signed electronically by … (how)."."""
    return f"Signed electronically by {user.get_username()} ({proof.describe()})."


@dataclass(frozen=True)
class PasswordCredential:
    """A re-entered password."""

    password: str


@dataclass(frozen=True)
class ProviderCredential:
    """An ID token from a re-authentication at the provider, with the nonce mlgov sent for
    this signature and when the signature began (``auth_time`` may not be earlier)."""

    id_token: str
    nonce: str
    started_at: datetime


Credential = PasswordCredential | ProviderCredential


@dataclass(frozen=True)
class ProviderSigning:
    """The identity provider's part of signing, registered by apps.identity.

    - ``enabled()``: whether a provider is configured now;
    - ``name()``: how pages name it ("Sign with <name>");
    - ``linked(user)``: whether the user has a subject at the configured provider;
    - ``session_began_there(http_request)``: whether this browser session began at it;
    - ``start(http_request, pending)``: keeps ``pending`` (with a fresh nonce and the start
      time) in the session and answers the provider's authorisation URL to send the browser to;
    - ``verify(user, credential)``: the proof, once every check of the ID token has passed;
      ``ApplicationError`` naming the reason otherwise.
    """

    enabled: Callable[[], bool]
    name: Callable[[], str]
    linked: Callable[[Any], bool]
    session_began_there: Callable[[HttpRequest], bool]
    start: Callable[[HttpRequest, dict[str, Any]], str]
    verify: Callable[[Any, ProviderCredential], SignatureProof]


_provider: list[ProviderSigning] = []
#: What completes a signature begun in the browser once the provider has answered: given
#: the request, the pending signature the collecting app stored, and either the credential
#: to sign with or the reason it cannot be had (then it audits the refusal and says why).
Completion = Callable[[HttpRequest, dict[str, Any], Credential | None, str], HttpResponse]
_completions: dict[str, Completion] = {}


def register_provider(entry: ProviderSigning) -> None:
    """Register the provider's signing (once; a second registration replaces the first)."""
    _provider[:] = [entry]


def provider() -> ProviderSigning | None:
    """The provider's signing when one is registered and configured."""
    for entry in _provider:
        if entry.enabled():
            return entry
    return None


def register_completion(purpose: str, complete: Completion) -> None:
    """Register what records a signature of ``purpose`` once the provider has answered."""
    _completions[purpose] = complete


def completion(purpose: str) -> Completion:
    try:
        return _completions[purpose]
    except KeyError:
        raise ApplicationError(f"mlgov does not know signatures for {purpose!r}.") from None


def method_for(*, user, http_request: HttpRequest | None = None) -> str:
    """How ``user`` signs: at the provider when one is configured, the user is linked to a
    subject there and has no password to re-enter (none set, local passwords switched off
    for them, or this browser session began at the provider); by password otherwise."""
    entry = provider()
    if entry is None or not entry.linked(user):
        return SignatureMethod.PASSWORD
    if not user.has_usable_password() or not local_login_allowed(user.get_username()):
        return SignatureMethod.PROVIDER
    if http_request is not None and entry.session_began_there(http_request):
        return SignatureMethod.PROVIDER
    return SignatureMethod.PASSWORD


def provider_name() -> str:
    entry = provider()
    return entry.name() if entry is not None else ""


def sign(
    *,
    user,
    credential: Credential | None = None,
    password: str = "",
    signature: SignatureAttempt,
    http_request: HttpRequest | None = None,
) -> SignatureProof:
    """Check ``credential`` (or, without one, the re-entered ``password``) as ``user``'s
    electronic signature of ``signature.obj``; the proof to record, or ApplicationError
    (audited as a failed signature) with nothing signed.

    Must run outside the caller's transaction, as ``password_reauthenticate`` must: a refusal
    rolls that back, and the failure must stay audited."""
    credential = credential or PasswordCredential(password)
    if isinstance(credential, PasswordCredential):
        if not credential.password and method_for(user=user) == SignatureMethod.PROVIDER:
            # Nothing to re-enter: say how this person signs instead of "wrong password".
            message = (
                f"You sign by signing in again at {provider_name()}, not with a password "
                "(through the API: an id_token for a signature-challenge). Nothing was signed."
            )
            fields = {"password": [message], "id_token": [message]}
            raise ApplicationError(message, field_errors=fields)
        password_reauthenticate(
            user=user,
            password=credential.password,
            http_request=http_request,
            signature=signature,
        )
        return PASSWORD_PROOF
    entry = provider()
    try:
        if entry is None:
            raise ApplicationError("Single sign-on is not configured: sign with your password.")
        return entry.verify(user, credential)
    except ApplicationError as exc:
        raise provider_refused(user=user, signature=signature, reason=exc.message) from exc


def provider_refused(*, user, signature: SignatureAttempt, reason: str) -> ApplicationError:
    """Audit a provider signature mlgov refused; the error to raise, naming the reason."""
    signature_refused(user=user, signature=signature, reason=reason)
    message = f"Your re-authentication at {provider_name() or 'the provider'} was not accepted: "
    message += f"{reason.rstrip('.')}. Nothing was signed."
    return ApplicationError(message, field_errors={"id_token": [message]})


@contextmanager
def refused_before_signing(
    *, user, credential: Credential | None, signature: SignatureAttempt
) -> Iterator[None]:
    """Around what refuses an action before its signature is checked (the action is not
    allowed now, or what the signer saw has changed since they began signing): a refusal
    (ApplicationError) goes through, and a re-authentication at the provider made for the
    action is audited as a refused signature with the reason, since the person signed in
    again there and nothing was signed. A password is neither checked nor counted (no guess
    was made)."""
    try:
        yield
    except ApplicationError as exc:
        if isinstance(credential, ProviderCredential):
            signature_refused(user=user, signature=signature, reason=exc.message)
        raise


# --- challenges for API clients ----------------------------------------------------------------


def _challenge_key(nonce: str) -> str:
    return "mlgov:signature-challenge:" + hashlib.sha256(nonce.encode()).hexdigest()


def challenge_issue(*, user, purpose: str, object_id: str) -> tuple[str, datetime]:
    """A single-use nonce for one provider signature by ``user`` of ``purpose``/``object_id``,
    valid for ``MLGOV_OIDC_SIGNATURE_CHALLENGE_SECONDS``; returns it and when it expires."""
    if provider() is None:
        raise ApplicationError("Single sign-on is not configured: sign with your password.")
    nonce = secrets.token_urlsafe(32)
    now = clock.now()
    ttl = settings.MLGOV_OIDC_SIGNATURE_CHALLENGE_SECONDS
    held = {"user": user.pk, "purpose": purpose, "object_id": str(object_id), "at": now}
    cache.set(_challenge_key(nonce), held, ttl)
    return nonce, now + timedelta(seconds=ttl)


def challenge_take(
    *, user, purpose: str, object_id: str, id_token: str, signature: SignatureAttempt
) -> ProviderCredential:
    """The credential for an ID token an API client sends: its challenge is found by the
    token's nonce (read before the token is verified: the nonce only finds the challenge,
    ``sign`` checks it and everything else) and used up, whatever happens next."""
    try:
        nonce = jwt.decode(id_token, options={"verify_signature": False}).get("nonce")
    except jwt.PyJWTError:
        nonce = None
    if not isinstance(nonce, str) or not nonce:
        reason = "the ID token carries no nonce of a challenge mlgov issued"
        raise provider_refused(user=user, signature=signature, reason=reason)
    key = _challenge_key(nonce)
    held = cache.get(key)
    # Used up before anything else is checked, so that a token is tried once.
    if held is None or not cache.delete(key):
        reason = "its nonce is not a challenge mlgov holds (used already, expired or never issued)"
        raise provider_refused(user=user, signature=signature, reason=reason)
    if (held["user"], held["purpose"], held["object_id"]) != (user.pk, purpose, str(object_id)):
        reason = "its nonce was issued for another user or another signature"
        raise provider_refused(user=user, signature=signature, reason=reason)
    return ProviderCredential(id_token=id_token, nonce=nonce, started_at=held["at"])
