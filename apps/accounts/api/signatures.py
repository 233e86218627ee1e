"""Electronic signatures in the API, shared by every action an API client signs (an approval
decision, an incident's rollback, taking a version out of production, a signed lifecycle
move of a model).

A body signs with ``password`` (re-entered) or ``id_token`` (from a re-authentication at the
identity provider), never both (``SignedSerializerMixin``). The viewset of such an action
takes ``SignatureChallengeMixin``: a ``signature-challenge`` action on the same resource
issues the single-use nonce for the ID token, bound to the user, the action (the viewset's
``signature_purpose``) and the object; ``signature_credential`` turns the body into the
credential the service checks. A locked account answers 429 (``locked_out_answers_429``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.exceptions import Throttled
from rest_framework.response import Response

from apps.accounts import signatures
from apps.accounts.services import LockedOut, SignatureAttempt
from apps.core.api.fields import DateTimeField

#: The 429 a password signature answers once the account is locked.
LOCKED_OUT_RESPONSE = OpenApiResponse(description="Account locked after repeated wrong passwords.")

SIGNATURE_HELP = (
    "Sign with ``password`` (your password again) or, if you sign in through the identity "
    "provider, with ``id_token``: an ID token the provider issued to mlgov's client after "
    "prompt=login and max_age=0, carrying the nonce of this object's signature-challenge. "
    "One of the two, never both. A wrong password answers 400, counts toward the account's "
    "sign-in lockout and is audited as a failed signature (a locked account answers 429); a "
    "refused ID token answers 400 naming the reason and is audited likewise."
)


def password_field(meaning: str) -> serializers.CharField:
    """The password re-entered as the electronic signature of ``meaning``."""
    return serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        write_only=True,
        trim_whitespace=False,
        style={"input_type": "password"},
        help_text=f"Your password again: the electronic signature {meaning} needs.",
    )


def id_token_field() -> serializers.CharField:
    """An ID token from a fresh re-authentication at the identity provider."""
    return serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        write_only=True,
        help_text="Instead of password, for people who sign in through the identity "
        "provider: an ID token it issued to mlgov's client after prompt=login and "
        "max_age=0, with the nonce of this object's signature-challenge.",
    )


class SignedSerializerMixin:
    """A body signed with ``password`` or ``id_token``: never both, and one of them when
    ``signature_required`` (an action that is always signed; one signed only in some states
    leaves the missing signature to the service, which knows the state)."""

    signature_required = True

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        data = super().validate(data)
        given = [name for name in ("password", "id_token") if data.get(name)]
        if len(given) > 1 or (self.signature_required and not given):
            message = (
                "Sign with your password or with an ID token from the identity provider "
                "(one of the two)."
            )
            raise serializers.ValidationError({"password": [message], "id_token": [message]})
        return data


class SignatureChallengeSerializer(serializers.Serializer):
    """A single-use nonce for signing one action on one object at the identity provider."""

    nonce = serializers.CharField()
    expires_at = DateTimeField()
    issuer = serializers.CharField()
    client_id = serializers.CharField()
    prompt = serializers.CharField()
    max_age = serializers.IntegerField()


class SignatureChallengeMixin:
    """The ``signature-challenge`` action of a viewset whose action an API client may sign
    at the identity provider, and the credential a signed body carries. The viewset names
    ``signature_purpose`` (the same the browser's pending signature uses) and gives the
    action the permission of the signed action in its ``perms``."""

    signature_purpose = ""

    @extend_schema(
        summary="Begin a signature at the identity provider: a single-use nonce",
        description="For people who sign in through the identity provider (they have no "
        "password to re-enter). Obtain an ID token for mlgov's client from the provider with "
        "this nonce, prompt=login and max_age=0, then send it as id_token with the signed "
        "action on this object within expires_at. The nonce is bound to you, to that action "
        "and to this object and is used once; mlgov checks the token's signature, issuer, "
        "audience, expiry, nonce, subject and that auth_time is after this challenge and "
        "fresh. A refused token signs nothing. Without single sign-on configured: 400.",
        request=None,
        responses={201: SignatureChallengeSerializer},
    )
    @action(detail=True, methods=["post"], url_path="signature-challenge")
    def signature_challenge(self, request, *args, **kwargs):
        obj = self.get_object()
        nonce, expires_at = signatures.challenge_issue(
            user=request.user, purpose=self.signature_purpose, object_id=str(obj.pk)
        )
        answer = {
            "nonce": nonce,
            "expires_at": expires_at,
            "issuer": settings.MLGOV_OIDC_ISSUER,
            "client_id": settings.MLGOV_OIDC_CLIENT_ID,
            "prompt": "login",
            "max_age": 0,
        }
        return Response(SignatureChallengeSerializer(answer).data, status=201)

    def signature_credential(
        self, obj, data: dict[str, Any], *, signature: SignatureAttempt
    ) -> signatures.Credential | None:
        """What the body signs with: the provider's ID token (its challenge for ``obj`` and
        this action found and used up; refused and audited otherwise), the password, or
        None when it sends neither."""
        if data.get("id_token"):
            return signatures.challenge_take(
                user=self.request.user,
                purpose=self.signature_purpose,
                object_id=str(obj.pk),
                id_token=data["id_token"],
                signature=signature,
            )
        if data.get("password"):
            return signatures.PasswordCredential(data["password"])
        return None


@contextmanager
def locked_out_answers_429() -> Iterator[None]:
    """A signature refused because the account is locked answers 429 with Retry-After."""
    try:
        yield
    except LockedOut as exc:
        raise Throttled(wait=exc.retry_after, detail=exc.message) from exc
