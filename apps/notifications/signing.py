"""Webhook signatures: HMAC-SHA256 of the raw request body with the endpoint's secret. No ORM.

Receivers recompute ``sha256=<hex>`` over the exact bytes they received and compare it with
the ``X-Mlgov-Signature`` header in constant time (``verify`` shows how).
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-Mlgov-Signature"
EVENT_HEADER = "X-Mlgov-Event"
DELIVERY_HEADER = "X-Mlgov-Delivery"
PREFIX = "sha256="


def sign(body: bytes, secret: str) -> str:
    """The signature header value for ``body``: ``sha256=`` and the HMAC-SHA256 hex digest."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return PREFIX + digest


def verify(body: bytes, secret: str, header: str) -> bool:
    """True when ``header`` is the signature of ``body`` with ``secret`` (constant-time)."""
    return hmac.compare_digest(sign(body, secret).encode("ascii"), (header or "").encode("ascii"))
