"""The two browser routes of sign-in through the provider: the start (a redirect to the
provider's authorisation endpoint, with state, nonce and a PKCE challenge) and the callback
(the code traded for tokens, the ID token checked, the session begun). Both are
mozilla-django-oidc's views; both answer 404 while no provider is configured."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpResponseRedirect
from django.urls import reverse
from mozilla_django_oidc.views import (
    OIDCAuthenticationCallbackView,
    OIDCAuthenticationRequestView,
)

from apps.core.errors import ApplicationError
from apps.identity import provider
from apps.identity.signin import provider_name


def _require_configured() -> None:
    if not provider.configured():
        raise Http404("Single sign-on is not configured.")


class SignInView(OIDCAuthenticationRequestView):
    def __init__(self, **kwargs):
        # The library reads the endpoint in its constructor; mlgov reads it from discovery
        # when a sign-in starts.
        super(OIDCAuthenticationRequestView, self).__init__(**kwargs)

    def get(self, request):
        _require_configured()
        try:
            self.OIDC_OP_AUTH_ENDPOINT = provider.discovery().authorization_endpoint
        except ApplicationError as exc:
            messages.error(request, f"Sign-in with {provider_name()} is not available: {exc}")
            return HttpResponseRedirect(reverse("accounts:login"))
        self.OIDC_RP_CLIENT_ID = provider.client_id()
        return super().get(request)


class CallbackView(OIDCAuthenticationCallbackView):
    @property
    def failure_url(self) -> str:
        return reverse("accounts:login")

    def get(self, request):
        _require_configured()
        return super().get(request)

    def login_failure(self):
        error = self.request.GET.get("error")
        reason = getattr(self.request, "mlgov_oidc_refusal", "") or (
            f"the provider answered {error[:60]!r}" if error else "it did not complete"
        )
        messages.error(self.request, f"Sign-in with {provider_name()} was refused: {reason}")
        return super().login_failure()
