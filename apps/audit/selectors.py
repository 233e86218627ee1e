"""Reading and verifying the audit trail."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.formats import date_format

from apps.accounts.models import User
from apps.audit.chain import VerificationResult, verify_events
from apps.audit.checkpoints import BROKEN, CheckpointFile, CheckpointFinding, compare, read_file
from apps.audit.models import AuditChainHead, AuditEvent
from apps.core.signing import installation_keyset
from apps.inventory.models import BusinessUnit

_CHUNK = 2000


def audit_event_list(*, model_pk: int | None = None) -> QuerySet[AuditEvent]:
    qs = AuditEvent.objects.select_related("actor").order_by("-sequence")
    if model_pk is not None:
        qs = qs.filter(model_ref=model_pk)
    return qs


def chain_head(using: str = "default") -> AuditChainHead:
    return AuditChainHead.objects.using(using).filter(pk=1).first() or AuditChainHead()


def audit_chain_verify() -> VerificationResult:
    """Recompute every hash in sequence order, streaming in chunks (constant memory)."""
    head = chain_head()
    events = (
        event.as_chain_dict()
        for event in AuditEvent.objects.order_by("sequence").iterator(chunk_size=_CHUNK)
    )
    return verify_events(events, expected_count=head.sequence, expected_head=head.hash)


@dataclass(frozen=True)
class AuditVerification:
    """The chain's own verification and how it stands against the signed checkpoints
    (``checkpoint`` is None when the chain is broken by itself: nothing more to compare)."""

    chain: VerificationResult
    checkpoint: CheckpointFinding | None

    @property
    def ok(self) -> bool:
        return self.chain.ok and self.checkpoint is not None and self.checkpoint.state != BROKEN

    @property
    def verified(self) -> bool:
        """OK *and* checked against a signed checkpoint."""
        return self.ok and self.checkpoint is not None and self.checkpoint.ok

    def as_dict(self) -> dict:
        """The chain's result, with ``ok`` and ``reason`` covering the checkpoints too, and
        the checkpoint verdict (``state``: verified, broken or unverifiable)."""
        result = {
            **self.chain.as_dict(),
            "ok": self.ok,
            "checkpoint": self.checkpoint.as_dict() if self.checkpoint else None,
        }
        if self.chain.ok and not self.ok:
            result["reason"] = self.checkpoint.reason
        return result


def checkpoint_path() -> Path:
    return Path(settings.MLGOV_AUDIT_CHECKPOINT_PATH)


def audit_checkpoints_read(path: Path | None = None) -> CheckpointFile:
    """Every line of the checkpoint file, signatures checked with the installation's keys."""
    return read_file(path or checkpoint_path(), keyset=installation_keyset())


def audit_chain_verify_with_checkpoints(
    *, path: Path | None = None, using: str = "default", restored: bool = False
) -> AuditVerification:
    """Verify the chain (as ``audit_chain_verify``) and then compare it with every signed
    checkpoint: a chain shorter than a checkpoint lost its tail (or was reset), and an event
    whose hash differs from a checkpoint's was rewritten, even if every later hash was
    recomputed and the head row moved to match. ``using`` names the database (a restored
    backup in the restore drill, which passes ``restored``: see ``checkpoints.compare``)."""
    checkpoints = audit_checkpoints_read(path)
    wanted = {c.sequence for c in checkpoints.valid}
    hashes: dict[int, str] = {}

    def tapped(events):
        for event in events:
            if event["sequence"] in wanted:
                hashes[event["sequence"]] = event["hash"]
            yield event

    head = chain_head(using)
    events = (
        event.as_chain_dict()
        for event in AuditEvent.objects.using(using)
        .order_by("sequence")
        .iterator(chunk_size=_CHUNK)
    )
    chain = verify_events(tapped(events), expected_count=head.sequence, expected_head=head.hash)
    if not chain.ok:
        return AuditVerification(chain=chain, checkpoint=None)
    finding = compare(checkpoints, chain_length=chain.count, hashes=hashes, restored=restored)
    return AuditVerification(chain=chain, checkpoint=finding)


# --- events made readable ----------------------------------------------------------------

# Change fields holding user ids / business-unit ids, shown by name instead.
USER_FIELDS = frozenset(
    {
        "owner",
        "business_owner",
        "validator",
        "risk_assessed_by",
        "approved_by",
        "created_by",
        "decided_by",
        "assessed_by",
    }
)
USER_LIST_FIELDS = frozenset({"developers"})
UNIT_FIELDS = frozenset({"business_unit"})
ISO_MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def _local_moment(value: str) -> str:
    """A stored UTC timestamp shown in the user's zone, like every other time on the page."""
    moment = parse_datetime(value.replace("Z", "+00:00"))
    if moment is None:
        return value
    return date_format(timezone.localtime(moment), "j M Y, H:i:s")


@dataclass(frozen=True)
class ChangeRow:
    field: str
    before: Any
    after: Any


@dataclass(frozen=True)
class EventRow:
    event: AuditEvent
    changes: list[ChangeRow]


def describe_events(events) -> list[EventRow]:
    """Events with their changes made readable: ids of people and units become names.

    Two queries for a whole page of events, whatever it holds.
    """
    events = list(events)
    user_ids: set[int] = set()
    unit_ids: set[int] = set()
    for event in events:
        for name, change in (event.changes or {}).items():
            for value in (change.get("before"), change.get("after")):
                if name in USER_FIELDS and isinstance(value, int):
                    user_ids.add(value)
                elif name in USER_LIST_FIELDS and isinstance(value, list):
                    user_ids.update(v for v in value if isinstance(v, int))
                elif name in UNIT_FIELDS and isinstance(value, int):
                    unit_ids.add(value)
    users = {u.pk: u.username for u in User.objects.filter(pk__in=user_ids)} if user_ids else {}
    units = {u.pk: u.name for u in BusinessUnit.objects.filter(pk__in=unit_ids)} if unit_ids else {}

    def readable(name: str, value: Any) -> Any:
        if name in USER_FIELDS and isinstance(value, int):
            return users.get(value, f"user #{value}")
        if name in USER_LIST_FIELDS and isinstance(value, list):
            return ", ".join(users.get(v, f"user #{v}") for v in value) or "—"
        if name in UNIT_FIELDS and isinstance(value, int):
            return units.get(value, f"unit #{value}")
        if isinstance(value, str) and ISO_MOMENT.match(value):
            return _local_moment(value)
        return value

    rows = []
    for event in events:
        changes = [
            ChangeRow(
                field=name.replace("_", " "),
                before=readable(name, change.get("before")),
                after=readable(name, change.get("after")),
            )
            for name, change in sorted((event.changes or {}).items())
            if isinstance(change, dict)
        ]
        rows.append(EventRow(event=event, changes=changes))
    return rows
