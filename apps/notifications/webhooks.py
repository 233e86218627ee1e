"""Sending one webhook request and the retry schedule. No ORM.

Every request goes through the egress guard (apps.core.egress): the endpoint's host must
resolve to public addresses (or ones the operator allow-listed), the connection goes to the
address that was checked, a redirect is a failure (never followed, never "delivered") and the
receiver has ``TIMEOUT_SECONDS`` for the whole exchange and ``RESPONSE_MAX_BYTES`` of answer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder

from apps.core import egress
from apps.notifications import signing

TIMEOUT_SECONDS = 10
MAX_RETRIES = 5
BACKOFF_BASE_SECONDS = 30
BACKOFF_MAX_SECONDS = 3600
USER_AGENT = "mlgov-webhooks/1"
#: Receivers answer with a status; a longer answer than this is not read (the attempt fails).
RESPONSE_MAX_BYTES = 64 * 1024


def encode_body(event: str, payload: dict[str, Any], *, delivery_id: int) -> bytes:
    """The JSON body, fixed once per delivery so every attempt sends (and signs) the same bytes."""
    document = {"event": event, "delivery": delivery_id, "data": payload}
    return json.dumps(document, cls=DjangoJSONEncoder, sort_keys=True).encode("utf-8")


def backoff_seconds(retries_done: int) -> int:
    """Seconds to wait before the next attempt: 30 s, 60 s, 120 s, ... capped at an hour."""
    return min(BACKOFF_BASE_SECONDS * 2**retries_done, BACKOFF_MAX_SECONDS)


@dataclass(frozen=True)
class Outcome:
    """What one attempt got: an HTTP status (None when no response came) and an error text.

    ``refused``: the egress guard refused the URL or the answer (a redirect, an over-size
    answer). Retrying would be refused the same way, so such an attempt is final.
    """

    status: int | None
    error: str = ""
    refused: bool = False

    @property
    def delivered(self) -> bool:
        return not self.refused and self.status is not None and 200 <= self.status < 300

    @property
    def retryable(self) -> bool:
        """Connection errors, timeouts and server errors may succeed later; 4xx will not."""
        return not self.refused and (self.status is None or self.status >= 500)


def post(
    url: str, body: bytes, *, secret: str, event: str, delivery_id: int, timeout: float
) -> Outcome:
    """POST ``body`` to ``url`` with the signature headers; never raises for network trouble."""
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        signing.SIGNATURE_HEADER: signing.sign(body, secret),
        signing.EVENT_HEADER: event,
        signing.DELIVERY_HEADER: str(delivery_id),
    }
    try:
        response = egress.request(
            "POST", url, body=body, headers=headers, timeout=timeout, max_bytes=RESPONSE_MAX_BYTES
        )
    except egress.EgressError as exc:
        return Outcome(status=exc.status, error=exc.message[:500], refused=not exc.retryable)
    if 200 <= response.status < 300:
        return Outcome(status=response.status)
    return Outcome(status=response.status, error=f"HTTP {response.status} {response.reason}")
