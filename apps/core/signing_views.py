"""``/.well-known/mlgov-signing-keys.json``: the public keys that verify this installation's
signed reports and evidence packs, as a JWK set (RFC 7517/8037), the current key first and
then every retired key still trusted.

Served without sign-in: public keys are not secret, and the people who check a pack (an
external auditor, a regulator) may hold no account here. Nothing else is disclosed.
"""

from __future__ import annotations

from django.http import HttpResponse
from django.views.decorators.http import require_safe

from apps.core.signing import installation_keyset


@require_safe
def signing_keys(request):
    response = HttpResponse(installation_keyset().jwks_bytes(), content_type="application/json")
    # Short public caching: a rotation shows within minutes; keys are the same for everyone.
    response["Cache-Control"] = "public, max-age=300"
    response["X-Content-Type-Options"] = "nosniff"
    return response
