"""Sending one webhook request and the retry schedule. Standard library only, no ORM."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder

from apps.notifications import signing

TIMEOUT_SECONDS = 10
MAX_RETRIES = 5
BACKOFF_BASE_SECONDS = 30
BACKOFF_MAX_SECONDS = 3600
USER_AGENT = "mlgov-webhooks/1"


def encode_body(event: str, payload: dict[str, Any], *, delivery_id: int) -> bytes:
    """The JSON body, fixed once per delivery so every attempt sends (and signs) the same bytes."""
    document = {"event": event, "delivery": delivery_id, "data": payload}
    return json.dumps(document, cls=DjangoJSONEncoder, sort_keys=True).encode("utf-8")


def backoff_seconds(retries_done: int) -> int:
    """Seconds to wait before the next attempt: 30 s, 60 s, 120 s, ... capped at an hour."""
    return min(BACKOFF_BASE_SECONDS * 2**retries_done, BACKOFF_MAX_SECONDS)


@dataclass(frozen=True)
class Outcome:
    """What one attempt got: an HTTP status (None when no response came) and an error text."""

    status: int | None
    error: str = ""

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def retryable(self) -> bool:
        """Connection errors, timeouts and server errors may succeed later; 4xx will not."""
        return self.status is None or self.status >= 500


def post(
    url: str, body: bytes, *, secret: str, event: str, delivery_id: int, timeout: float
) -> Outcome:
    """POST ``body`` to ``url`` with the signature headers; never raises for network trouble."""
    if not url.lower().startswith(("http://", "https://")):
        # urllib also opens file: and ftp: URLs; a webhook is only ever HTTP.
        return Outcome(status=None, error="Only http and https URLs can receive webhooks.")
    request = urllib.request.Request(  # noqa: S310 (scheme checked above)
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            signing.SIGNATURE_HEADER: signing.sign(body, secret),
            signing.EVENT_HEADER: event,
            signing.DELIVERY_HEADER: str(delivery_id),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return Outcome(status=response.status)
    except urllib.error.HTTPError as exc:
        return Outcome(status=exc.code, error=f"HTTP {exc.code} {exc.reason}")
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return Outcome(status=None, error=f"{type(exc).__name__}: {reason}"[:500])
