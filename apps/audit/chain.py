"""Hash chain of audit events: canonical JSON, hashing and verification. No ORM here.

Each event's hash is SHA-256 over the canonical JSON of its fields, which include the
previous event's hash and its own sequence number. Changing, removing or reordering any
event therefore breaks every hash after it, and the stored chain head catches a cut tail.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder

GENESIS_HASH = "0" * 64

# The fields covered by the hash, in the order documented for auditors.
HASHED_FIELDS = (
    "sequence",
    "occurred_at",
    "actor_id",
    "actor_username",
    "action",
    "object_type",
    "object_id",
    "object_repr",
    "model_ref",
    "changes",
    "message",
    "request_id",
    "client_ip",
    "prev_hash",
)


def canonical_json(value: Any) -> str:
    """Deterministic JSON: sorted keys, no whitespace, UTF-8 text, Django types as strings."""
    return json.dumps(
        value, cls=DjangoJSONEncoder, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )


def _parse_float(text: str) -> float | int:
    """Whole numbers of 1e16 and more as int: PostgreSQL's jsonb writes 1e+20 back as
    100000000000000000000, which would otherwise read back as an int and break the hash."""
    value = float(text)
    if abs(value) >= 1e16 and value.is_integer():
        return int(value)
    return value


def normalise(value: Any) -> Any:
    """The JSON round-trip of a value, as it will read back from the database."""
    return json.loads(canonical_json(value), parse_float=_parse_float)


def format_time(moment: datetime) -> str:
    """UTC ISO 8601 with microseconds: the one textual form of a time inside a hash."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event_payload(event: Mapping[str, Any]) -> dict[str, Any]:
    payload = {name: event.get(name) for name in HASHED_FIELDS}
    occurred = payload["occurred_at"]
    if isinstance(occurred, datetime):
        payload["occurred_at"] = format_time(occurred)
    return payload


def compute_hash(event: Mapping[str, Any]) -> str:
    """SHA-256 hex digest of the canonical JSON of an event (which carries ``prev_hash``)."""
    return hashlib.sha256(canonical_json(event_payload(event)).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class VerificationResult:
    ok: bool
    count: int
    head_hash: str
    broken_sequence: int | None = None
    broken_id: int | None = None
    reason: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "count": self.count,
            "head_hash": self.head_hash,
            "broken_sequence": self.broken_sequence,
            "broken_id": self.broken_id,
            "reason": self.reason,
        }


def verify_events(
    events: Iterable[Mapping[str, Any]],
    *,
    expected_count: int | None = None,
    expected_head: str | None = None,
    base_sequence: int = 0,
    base_hash: str = GENESIS_HASH,
    progress: Callable[[int], None] | None = None,
    progress_every: int = 10_000,
) -> VerificationResult:
    """Walk events in sequence order and report the first one that breaks the chain.

    ``expected_count`` / ``expected_head`` come from the stored chain head, so that a
    removed last event (which leaves a consistent but shorter chain) is caught too.

    An incremental walk starts after ``base_sequence``, whose hash ``base_hash`` an earlier
    verification (and a signed checkpoint) proved: the first event must be
    ``base_sequence + 1`` and link to ``base_hash``; ``count`` and ``expected_count`` then
    count the events after the base. ``progress(count)`` is called every ``progress_every``
    events.
    """
    prev_hash = base_hash
    count = 0
    last = None
    for event in events:
        count += 1
        last = event
        sequence = event["sequence"]
        if progress is not None and count % progress_every == 0:
            progress(count)

        def broken(
            reason: str, _event=event, _seq=sequence, _count=count, _prev=prev_hash
        ) -> VerificationResult:
            return VerificationResult(
                ok=False,
                count=_count,
                head_hash=_prev,
                broken_sequence=_seq,
                broken_id=_event.get("id"),
                reason=reason,
            )

        if sequence != base_sequence + count:
            return broken(
                f"expected sequence {base_sequence + count}, found {sequence} "
                "(missing or reordered)"
            )
        if event["prev_hash"] != prev_hash:
            return broken("previous-hash link does not match the event before it")
        if compute_hash(event) != event["hash"]:
            return broken("content does not match its hash (event altered)")
        prev_hash = event["hash"]
    if expected_count is not None and count != expected_count:
        return VerificationResult(
            ok=False,
            count=count,
            head_hash=prev_hash,
            broken_sequence=base_sequence + count + 1,
            broken_id=None,
            reason=(
                f"chain head records {base_sequence + expected_count} events but "
                f"{base_sequence + count} were found"
            ),
        )
    if expected_head is not None and last is not None and expected_head != prev_hash:
        return VerificationResult(
            ok=False,
            count=count,
            head_hash=prev_hash,
            broken_sequence=base_sequence + count,
            broken_id=last.get("id"),
            reason="last event does not match the recorded chain head",
        )
    return VerificationResult(ok=True, count=count, head_hash=prev_hash)
