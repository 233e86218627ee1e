"""Reading and verifying the audit trail."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db.models import QuerySet

from apps.audit.chain import VerificationResult, verify_events
from apps.audit.checkpoints import BROKEN, CheckpointFile, CheckpointFinding, compare, read_file
from apps.audit.models import AuditChainHead, AuditEvent
from apps.core.signing import installation_keyset

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
