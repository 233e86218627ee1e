"""API token authentication: ``Authorization: Token <key>`` against hashed, expiring tokens.

Built on django-rest-knox's scheme (digest comparison in constant time), with mlgov's rules:
an expired token is refused with a message saying so (and kept, so its owner sees it in the
token list) instead of being deleted silently; the last-used time is written at most once a
minute; one query per request in the common case.
"""

from __future__ import annotations

import binascii
from datetime import timedelta
from hmac import compare_digest

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from knox.auth import TokenAuthentication as KnoxTokenAuthentication
from knox.crypto import hash_token
from knox.settings import CONSTANTS
from rest_framework import exceptions

from apps.accounts.choices import TokenScope
from apps.accounts.models import AuthToken
from apps.core import clock

# How stale ``last_used_at`` may get before a request writes it again.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def _refuse_out_of_scope(auth_token: AuthToken, request) -> None:
    """A token opens only the views that accept its scope: a view lists them in
    ``token_scopes`` (only ``api`` when it names none), so a lineage key sent anywhere but
    the OpenLineage intake is refused (403), whatever its user may do."""
    view = (getattr(request, "parser_context", None) or {}).get("view")
    accepted = getattr(view, "token_scopes", (TokenScope.API,))
    if auth_token.scope in accepted:
        return
    if auth_token.scope == TokenScope.LINEAGE:
        raise exceptions.PermissionDenied(
            f"The token “{auth_token.name}” is scoped to OpenLineage events (lineage): it may "
            "only send events to /api/v1/lineage/openlineage/. Use a token with the api scope "
            "for anything else."
        )
    raise exceptions.PermissionDenied(
        f"The token “{auth_token.name}” (scope {auth_token.scope}) does not open this endpoint."
    )


class TokenAuthentication(KnoxTokenAuthentication):
    def authenticate(self, request):
        result = super().authenticate(request)
        if result is not None:
            _refuse_out_of_scope(result[1], request)
        return result

    def authenticate_credentials(self, token: bytes):
        invalid = "Invalid token."
        try:
            key = token.decode("utf-8")
            digest = hash_token(key)
        except (UnicodeDecodeError, TypeError, ValueError, binascii.Error) as exc:
            raise exceptions.AuthenticationFailed(invalid) from exc
        candidates = AuthToken.objects.filter(
            token_key=key[: CONSTANTS.TOKEN_KEY_LENGTH]
        ).select_related("user")
        for auth_token in candidates:
            if not compare_digest(digest, auth_token.digest):
                continue
            now = clock.now()
            if auth_token.expiry is not None and auth_token.expiry <= now:
                raise exceptions.AuthenticationFailed(
                    f"Token expired on {auth_token.expiry:%Y-%m-%d %H:%M} UTC; "
                    "make a new one under Account → API tokens (/accounts/tokens/)."
                )
            user, _ = self.validate_user(auth_token)
            if auth_token.last_used_at is None or (
                now - auth_token.last_used_at >= LAST_USED_RESOLUTION
            ):
                AuthToken.objects.filter(pk=auth_token.pk).update(last_used_at=now)
                auth_token.last_used_at = now
            return user, auth_token
        raise exceptions.AuthenticationFailed(invalid)


class BearerTokenAuthentication(TokenAuthentication):
    """The same keys sent as ``Authorization: Bearer <key>``, the header OpenLineage's HTTP
    transports send (``auth.type: api_key``). Only views that name it accept it (the
    OpenLineage intake), so the rest of the API keeps one documented header."""

    def authenticate_header(self, request) -> str:
        return "Bearer"


class TokenScheme(OpenApiAuthenticationExtension):
    """The scheme in the OpenAPI schema (named as DRF's token scheme was, for clients)."""

    target_class = "apps.accounts.authentication.TokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        scheme = build_bearer_security_scheme_object(
            header_name="Authorization", token_prefix=self.target.authenticate_header(None)
        )
        scheme["description"] = (
            "`Token <key>`, a key starting with `mlgov_` made under /accounts/tokens/ or by "
            "`manage.py drf_create_token`; keys expire."
        )
        return scheme


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "apps.accounts.authentication.BearerTokenAuthentication"
    name = "bearerTokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "`Bearer <key>`: an mlgov API key (scope `lineage` or `api`) as "
            "OpenLineage's HTTP transport sends it with `auth.type: api_key`.",
        }
