"""The browser routes of sign-in through the provider: the start (a redirect to the
provider's authorisation endpoint, with state, nonce and a PKCE challenge) and the callback
(the code traded for tokens, the ID token checked, the session begun), both
mozilla-django-oidc's views; and the callback of a re-authentication for a signature
(``signature``). All answer 404 while no provider is configured."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpResponseRedirect
from django.urls import reverse
from mozilla_django_oidc.views import (
    OIDCAuthenticationCallbackView,
    OIDCAuthenticationRequestView,
)

from apps.accounts import signatures
from apps.accounts.services import SignatureAttempt
from apps.core.errors import ApplicationError
from apps.identity import provider, signature
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


def signature_callback(request):
    """The provider's answer to a re-authentication for a signature: the pending signature
    its state names is taken out of the session (answered once), the code traded for the ID
    token, and the app that collects the signature records it, or audits the refusal and
    says why. Nothing is signed here: the collecting app's service checks the token."""
    _require_configured()
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    pending = signature.pending_take(request, request.GET.get("state", ""))
    if pending is None or pending.get("user") != request.user.pk:
        reason = "no signature of this browser session waits for this answer (answered "
        reason += "already, or never begun)"
        error = signatures.provider_refused(
            user=request.user,
            signature=SignatureAttempt(
                obj=request.user, model_ref=None, description="an unknown signature"
            ),
            reason=reason,
        )
        messages.error(request, error.message)
        return HttpResponseRedirect(reverse("dashboard:home"))
    complete = signatures.completion(pending["purpose"])
    if pending["expired"]:
        limit = settings.MLGOV_OIDC_SIGNATURE_CHALLENGE_SECONDS
        reason = f"the provider answered more than {limit} seconds after the signature began"
        return complete(request, pending, None, reason)
    error = request.GET.get("error")
    if error:
        described = request.GET.get("error_description", "")[:200]
        reason = f"the provider answered {error[:60]!r}" + (f" ({described})" if described else "")
        return complete(request, pending, None, reason)
    try:
        credential = signature.credential_from_code(
            request, code=request.GET.get("code", ""), pending=pending
        )
    except ApplicationError as exc:
        return complete(request, pending, None, exc.message)
    return complete(request, pending, credential, "")
