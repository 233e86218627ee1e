"""Sign-in through the organisation's OpenID Connect provider, on mozilla-django-oidc.

The library runs the authorisation code flow: state, nonce and the PKCE verifier kept in the
session, the code traded at the token endpoint, the session begun. mlgov supplies what it
leaves open: the endpoints from the provider's discovery document, every outbound call
through the egress guard (``provider``), a full check of the ID token (``oidc``: signature,
issuer, audience, times, nonce; the library checks the signature and nonce only), and users
matched by issuer and subject, never by e-mail (``services.oidc_sign_in``).

The backend is always installed and does nothing until ``MLGOV_OIDC_ISSUER`` is set. It
answers no permission: ``rules`` and mlgov's ModelBackend do.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import SuspiciousOperation
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from apps.core.errors import ApplicationError
from apps.identity import provider, services

logger = logging.getLogger(__name__)

#: Where the session keeps the ID token, for ``id_token_hint`` when signing out.
ID_TOKEN_SESSION_KEY = "oidc_id_token"  # noqa: S105 - a session key name


class OIDCBackend(OIDCAuthenticationBackend):
    def __init__(self, *args, **kwargs):
        # Made for every request that reads its session's user: no settings or discovery
        # read here (the library's constructor reads the endpoints).
        self.UserModel = get_user_model()

    @property
    def OIDC_RP_CLIENT_ID(self) -> str:
        return settings.MLGOV_OIDC_CLIENT_ID

    @property
    def OIDC_RP_CLIENT_SECRET(self) -> str:
        return settings.MLGOV_OIDC_CLIENT_SECRET

    def authenticate(self, request, **kwargs):
        """Only the provider's callback (which passes the nonce) is ours; a refusal is audited
        with its reason, and ``request.mlgov_oidc_refusal`` tells the page why."""
        if request is None or "nonce" not in kwargs or not provider.configured():
            return None
        try:
            return super().authenticate(request, **kwargs)
        except (ApplicationError, SuspiciousOperation) as exc:
            reason = exc.message if isinstance(exc, ApplicationError) else str(exc)
            logger.warning("Sign-in through %s refused: %s", provider.issuer(), reason)
            services.oidc_sign_in_refused(issuer=provider.issuer(), reason=reason)
            request.mlgov_oidc_refusal = reason
            request.mlgov_failure_audited = True
            return None

    def get_token(self, payload):
        return provider.token_exchange(payload)

    def verify_token(self, token, **kwargs):
        return provider.verify_id_token(token, nonce=kwargs.get("nonce") or "")

    def store_tokens(self, access_token, id_token):
        # The ID token only, for id_token_hint at sign-out; the access token is not kept.
        self.request.session[ID_TOKEN_SESSION_KEY] = id_token

    def get_or_create_user(self, access_token, id_token, payload):
        return services.oidc_sign_in(claims=payload, issuer=provider.issuer())

    def get_user(self, user_id):
        """The session's user while the account is active (a deactivated one is signed out
        at their next request)."""
        user = super().get_user(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None

    # Permissions are answered by rules and mlgov's ModelBackend, never twice.
    def get_user_permissions(self, user_obj, obj=None):
        return set()

    def get_group_permissions(self, user_obj, obj=None):
        return set()

    def get_all_permissions(self, user_obj, obj=None):
        return set()

    def with_perm(self, perm, is_active=True, include_superusers=True, obj=None):
        return self.UserModel._default_manager.none()
