"""Reading and verifying the audit trail."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.formats import date_format

from apps.audit.chain import VerificationResult, verify_events
from apps.audit.checkpoints import BROKEN, CheckpointFile, CheckpointFinding, compare, read_file
from apps.audit.models import AuditChainHead, AuditEvent
from apps.audit.registry import field_names, model_reference
from apps.core.signing import installation_keyset

_CHUNK = 2000


def audit_event_list(*, model_pk: int | None = None) -> QuerySet[AuditEvent]:
    qs = AuditEvent.objects.select_related("actor").order_by("-sequence")
    if model_pk is not None:
        qs = qs.filter(model_ref=model_pk)
    return qs


def event_model_slugs(events) -> dict[int, str]:
    """Slugs of the models a page of events is about, in one query (none without refs)."""
    refs = {e.model_ref for e in events if e.model_ref is not None}
    if not refs:
        return {}
    return model_reference().slugs(refs)


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

# Change fields holding user ids, shown by name instead (and those the apps register in
# apps.audit.registry, such as business units).
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
    """Events with their changes made readable: ids of people, and of the objects the apps
    registered a change field for (business units), become names.

    One query for the people and one per registered field in use for a whole page of events,
    whatever it holds.
    """
    events = list(events)
    named_fields = field_names()
    user_ids: set[int] = set()
    ids: dict[str, set[int]] = {}
    for event in events:
        for name, change in (event.changes or {}).items():
            for value in (change.get("before"), change.get("after")):
                if name in USER_FIELDS and isinstance(value, int):
                    user_ids.add(value)
                elif name in USER_LIST_FIELDS and isinstance(value, list):
                    user_ids.update(v for v in value if isinstance(v, int))
                elif name in named_fields and isinstance(value, int):
                    ids.setdefault(name, set()).add(value)
    users = (
        {u.pk: u.username for u in get_user_model().objects.filter(pk__in=user_ids)}
        if user_ids
        else {}
    )
    names = {name: named_fields[name].names(field_ids) for name, field_ids in ids.items()}

    def readable(name: str, value: Any) -> Any:
        if name in USER_FIELDS and isinstance(value, int):
            return users.get(value, f"user #{value}")
        if name in USER_LIST_FIELDS and isinstance(value, list):
            return ", ".join(users.get(v, f"user #{v}") for v in value) or "—"
        if name in named_fields and isinstance(value, int):
            return names.get(name, {}).get(value, f"{named_fields[name].missing} #{value}")
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
