"""The provider's sign-in as the sign-in page and sign-out see it (registered into
``apps.accounts.signin`` by this app's ``ready()``)."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse

from apps.accounts.signin import ExternalSignIn
from apps.identity import provider
from apps.identity.backends import ID_TOKEN_SESSION_KEY


def provider_name() -> str:
    return settings.MLGOV_OIDC_PROVIDER_NAME or "single sign-on"


def _end_session_url(request: HttpRequest) -> str | None:
    """RP-initiated logout for a session begun at the provider (it holds the ID token)."""
    id_token = request.session.get(ID_TOKEN_SESSION_KEY)
    if not id_token or not provider.configured():
        return None
    return provider.end_session_url(
        id_token=id_token,
        post_logout_redirect_uri=request.build_absolute_uri(reverse("accounts:login")),
    )


EXTERNAL = ExternalSignIn(
    enabled=provider.configured,
    label=lambda: f"Sign in with {provider_name()}",
    url="identity:oidc_login",
    end_session_url=_end_session_url,
)
