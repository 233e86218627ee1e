"""The browser's part of a signature at the identity provider, shared by every page that
collects an electronic signature (approval decisions, an incident's rollback, taking a
version out of production, a signed lifecycle move of a model).

A page whose signer signs at the provider (``provider_name_for``) does not ask for a
password: on submit it checks what it can (what would be refused after the provider is
refused before), then ``sign_at_provider`` keeps the action pending in the session and sends
the browser to the provider. When the provider answers, the identity app's callback hands the
pending action to the completion the collecting app registered for its ``purpose``
(``signatures.register_completion``), which calls ``signature_completed``: the refusal is
audited and said, or the action is performed with the provider's credential; either way
the browser goes back to the page it came from with a message.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from apps.accounts import signatures
from apps.accounts.choices import SignatureMethod
from apps.accounts.services import SignatureAttempt
from apps.core.errors import ApplicationError
from apps.core.views import is_partial


def provider_name_for(request: HttpRequest) -> str:
    """The identity provider the signed-in user signs at, or "" when they sign with their
    password (asked once per request: a page may show several signed forms)."""
    if not hasattr(request, "_mlgov_signs_at"):
        method = signatures.method_for(user=request.user, http_request=request)
        signs_at = signatures.provider_name() if method == SignatureMethod.PROVIDER else ""
        request._mlgov_signs_at = signs_at
    return request._mlgov_signs_at


def _go(request: HttpRequest, url: str) -> HttpResponse:
    """Send the browser to ``url``: HTMX follows with a full-page redirect (the provider's
    page is not a fragment of mlgov's), a plain POST with a redirect."""
    if is_partial(request):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return HttpResponseRedirect(url)


def sign_at_provider(
    request: HttpRequest, *, purpose: str, object_id: Any, back: str, **details: Any
) -> HttpResponse:
    """Keep the action pending in the session (``purpose``, the signer, the object, the page
    to come back to and the action's ``details``, all JSON) and send the browser to the
    provider to sign in again; the page again with a message when it cannot be reached."""
    pending = {
        "purpose": purpose,
        "user": request.user.pk,
        "object_id": object_id,
        "back": back,
        **details,
    }
    entry = signatures.provider()
    try:
        if entry is None:
            raise ApplicationError("single sign-on is not configured any more.")
        url = entry.start(request, pending)
    except ApplicationError as exc:
        name = signatures.provider_name() or "The identity provider"
        messages.error(request, f"{name} cannot be reached now: {exc.message} Nothing was signed.")
        return _go(request, back)
    return _go(request, url)


def signature_completed(
    request: HttpRequest,
    pending: dict[str, Any],
    credential: signatures.Credential | None,
    refusal: str,
    *,
    signature: SignatureAttempt,
    perform: Callable[[signatures.Credential], str],
) -> HttpResponse:
    """End a signature begun by ``sign_at_provider`` once the provider has answered: audit
    ``refusal`` (nothing is done) or ``perform`` the action with ``credential`` (the service
    checks the token before anything is written) and say what it returns; a refusal by the
    service is said instead. Either way back to the page the person came from."""
    if refusal:
        error = signatures.provider_refused(user=request.user, signature=signature, reason=refusal)
        messages.error(request, error.message)
    else:
        try:
            done = perform(credential)
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, done)
    back = pending.get("back") or ""
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = reverse("dashboard:home")
    return HttpResponseRedirect(back)
