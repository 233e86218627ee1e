"""Writing to the audit trail. Every service write calls ``audit_record`` in its transaction
(an edit of an existing row goes through ``audited_update``, which calls it);
``audit_checkpoint_write`` signs the chain head into the checkpoint file outside the database."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, connections, models, transaction

from apps.audit import checkpoints, diff, selectors
from apps.audit.chain import GENESIS_HASH, compute_hash, format_time, normalise
from apps.audit.checkpoints import BROKEN, Checkpoint, CheckpointError
from apps.audit.models import AuditChainHead, AuditEvent, ChainVerification
from apps.audit.selectors import AuditVerification, chain_head, checkpoint_path
from apps.core import clock, context
from apps.core.services import validate_instance
from apps.core.signing import SigningKeyError, installation_keyset, installation_signer
from apps.jobs.services import job_enqueue

logger = logging.getLogger(__name__)


def object_type_of(obj: models.Model) -> str:
    return obj._meta.label_lower


def audit_record(
    *,
    actor,
    action: str,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str = "",
    object_repr: str = "",
    model_ref: int | None = None,
    changes: dict[str, Any] | None = None,
    message: str = "",
) -> AuditEvent:
    """Append one event to the chain. Must run inside the caller's transaction.

    Locks the chain head row so concurrent writers append strictly one after another.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit_record must be called inside transaction.atomic()")
    return audit_record_many(
        [
            {
                "actor": actor,
                "action": action,
                "obj": obj,
                "object_type": object_type,
                "object_id": object_id,
                "object_repr": object_repr,
                "model_ref": model_ref,
                "changes": changes,
                "message": message,
            }
        ]
    )[0]


def audit_record_many(entries: Sequence[Mapping[str, Any]]) -> list[AuditEvent]:
    """Append several events to the chain at once, in order: each entry holds the keyword
    arguments of ``audit_record``. The chain head is locked once, each event's hash chains on
    the one before as ``audit_record`` would have made it (a batch that registers many
    records, e.g. a registry sync). Must run inside the caller's transaction."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit_record_many must be called inside transaction.atomic()")
    if not entries:
        return []
    ctx = context.current()
    head, _ = AuditChainHead.objects.select_for_update(of=("self",)).get_or_create(pk=1)
    sequence, prev_hash = head.sequence, head.hash
    events = []
    for entry in entries:
        obj = entry.get("obj")
        object_type = entry.get("object_type") or ""
        object_id = entry.get("object_id") or ""
        object_repr = entry.get("object_repr") or ""
        if obj is not None:
            object_type = object_type or object_type_of(obj)
            object_id = object_id or str(obj.pk)
            object_repr = object_repr or str(obj)[:300]
        actor = entry.get("actor")
        actor_obj = actor if actor is not None and getattr(actor, "pk", None) else None
        sequence += 1
        event = AuditEvent(
            sequence=sequence,
            occurred_at=clock.now(),
            actor=actor_obj,
            actor_username=actor_obj.get_username() if actor_obj else (ctx.actor_name or "system"),
            action=entry["action"],
            object_type=object_type,
            object_id=str(object_id),
            object_repr=object_repr[:300],
            model_ref=entry.get("model_ref"),
            changes=normalise(entry.get("changes") or {}),
            message=entry.get("message") or "",
            request_id=ctx.request_id,
            client_ip=ctx.client_ip,
            prev_hash=prev_hash,
        )
        event.hash = prev_hash = compute_hash(event.as_chain_dict())
        events.append(event)
    # One insert and one head update per event: on PostgreSQL the database checks that each
    # inserted event extends the head (apps/audit/migrations/0004_chain_guards.py).
    for event in events:
        event.save()
        head.sequence, head.hash = event.sequence, event.hash
        head.save(update_fields=["sequence", "hash"])
    return events


M = TypeVar("M", bound=models.Model)


def audited_create(
    instance: M,
    *,
    actor,
    fields: Sequence[str] | Callable[[M], dict[str, Any]],
    model_ref: int | None = None,
    message: str = "",
    exclude: Sequence[str] | None = None,
) -> M:
    """Validate a new row, save it and record its creation: ``audited_update``'s twin for
    the common case (``fields`` as there: names, or a function giving the audited snapshot).
    Runs inside the caller's transaction."""
    validate_instance(instance, exclude=list(exclude) if exclude is not None else None)
    instance.save()
    snapshot = fields(instance) if callable(fields) else diff.snapshot(instance, fields)
    audit_record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        obj=instance,
        model_ref=model_ref,
        changes=diff.created(snapshot),
        message=message,
    )
    return instance


def audited_update(
    instance: M,
    *,
    actor,
    data: Mapping[str, Any],
    fields: Sequence[str] | Callable[[M], dict[str, Any]],
    model_ref: int | None = None,
    action: str = AuditEvent.Action.UPDATE,
    message: str = "",
    check: Callable[[dict[str, Any], M], None] | None = None,
    validate: bool = True,
    exclude: Sequence[str] | None = None,
    lock: bool = True,
    update_fields: Sequence[str] | None = None,
    extra_changes: Mapping[str, dict[str, Any]] | None = None,
) -> tuple[M, dict[str, dict[str, Any]]]:
    """Change an existing row and record the change: the one way services edit a row.

    With ``lock`` the row is read again under ``SELECT ... FOR UPDATE`` (callers that locked
    it themselves, e.g. to check it first, pass ``lock=False``). Then: snapshot ``fields``
    (names of fields, or a function giving the audited snapshot of an instance), set
    ``data``, ``check(before, instance)`` (the service's own rules: it may raise
    ApplicationError, or set fields that follow from the new values), validate the model
    (``validate``, ``exclude``), and diff. When nothing changed nothing is written and
    ``{}`` is returned; otherwise the row is saved (all fields, or ``update_fields``) and, when
    an audited field changed, one audit event records the changes with ``action`` and
    ``message``, and ``extra_changes`` beside them (what else the event states, such as the
    electronic signature of a signed change).

    Runs inside the caller's transaction. Returns the (re-read) instance and the changes.
    """
    if lock:
        instance = (
            type(instance)._default_manager.select_for_update(of=("self",)).get(pk=instance.pk)
        )
    snapshot = fields if callable(fields) else lambda obj: diff.snapshot(obj, fields)
    before = snapshot(instance)
    # A value outside the audited snapshot is still saved when it changes (nothing lost).
    touched = [name for name, value in data.items() if getattr(instance, name) != value]
    for name, value in data.items():
        setattr(instance, name, value)
    if check is not None:
        check(before, instance)
    if validate:
        validate_instance(instance, exclude=list(exclude) if exclude is not None else None)
    changes = diff.diff(before, snapshot(instance))
    if not changes and not touched:
        return instance, changes
    instance.save(update_fields=update_fields)
    if not changes:
        return instance, changes
    audit_record(
        actor=actor,
        action=action,
        obj=instance,
        model_ref=model_ref,
        changes={**changes, **extra_changes} if extra_changes else changes,
        message=message,
    )
    return instance, changes


def _head_event() -> tuple[int, str, str | None]:
    """The committed chain head and its event's time. The head row and its event commit
    together and the event never changes, so reading one then the other races with nobody."""
    head = chain_head()
    if head.sequence == 0:
        return 0, GENESIS_HASH, None
    event = (
        AuditEvent.objects.filter(sequence=head.sequence)
        .only("sequence", "hash", "occurred_at")
        .first()
    )
    if event is None or event.hash != head.hash:
        raise CheckpointError(
            f"The audit chain head names event {head.sequence} with hash {head.hash}, which the "
            "audit table does not hold: no checkpoint was written; run "
            "`manage.py verify_audit_log`."
        )
    return event.sequence, event.hash, format_time(event.occurred_at)


def _check_extends(previous: Checkpoint, sequence: int) -> None:
    """The chain must still hold ``previous``: never sign a chain that lost or rewrote what
    an earlier checkpoint vouched for (that would bless the tampering)."""
    signed = f"the signed checkpoint of {previous.checkpointed_at} (sequence {previous.sequence})"
    if previous.sequence > sequence:
        raise CheckpointError(
            f"The audit chain ends at sequence {sequence}, before {signed}: events were removed. "
            "No checkpoint was written; run `manage.py verify_audit_log`."
        )
    if previous.sequence == 0:
        return
    found = (
        AuditEvent.objects.filter(sequence=previous.sequence).values_list("hash", flat=True).first()
    )
    if found != previous.hash:
        raise CheckpointError(
            f"Audit event {previous.sequence} no longer has the hash of {signed}: the chain was "
            "rewritten. No checkpoint was written; run `manage.py verify_audit_log`."
        )


def audit_checkpoint_write(*, reason: str, path: Path | None = None) -> Checkpoint:
    """Sign the chain head (the head row's sequence and hash, with its event's time) and
    append it to the checkpoint file, after checking that the head names an event that exists
    and that the chain still holds the latest checkpoint there.

    Call it outside the caller's transaction, so it signs the committed head. Raises
    CheckpointError with a one-sentence reason when the file cannot be written or the chain
    does not extend the last checkpoint.
    """
    path = Path(path or checkpoint_path())
    try:
        keyset, signer = installation_keyset(), installation_signer()
        with checkpoints.locked_for_append(path) as append:
            previous = checkpoints.read_file(path, keyset=keyset, latest_only=True).latest
            sequence, digest, event_at = _head_event()
            if previous is not None:
                _check_extends(previous, sequence)
            checkpoint = checkpoints.sign(
                sequence=sequence,
                hash=digest,
                event_at=event_at,
                checkpointed_at=format_time(clock.now()),
                reason=reason,
                signer=signer,
            )
            append(checkpoint)
    except OSError as exc:
        raise CheckpointError(
            f"The audit checkpoint file {path} cannot be written ({exc.strerror or exc})."
        ) from exc
    except SigningKeyError as exc:
        raise CheckpointError(f"The audit checkpoint cannot be signed ({exc}).") from exc
    logger.info("Audit checkpoint written to %s: %s (%s)", path, checkpoint.describe(), reason)
    return checkpoint


def audit_grant_app_role(*, role: str, using: str = "default") -> list[str]:
    """Give the application role exactly its rights (``apps.audit.dbroles``); run as the
    tables' owner after every ``migrate``. Returns the statements run. Raises RoleError when
    the database is not PostgreSQL or the role must not be the application role."""
    from apps.audit import dbroles

    connection = connections[using]
    if connection.vendor != "postgresql":
        raise dbroles.RoleError(
            f"database roles need PostgreSQL; the {using!r} database is {connection.vendor}."
        )
    with transaction.atomic(using=using), connection.cursor() as cursor:
        problem = dbroles.refusal(cursor, role)
        if problem:
            raise dbroles.RoleError(f"{problem}; no rights were granted.")
        cursor.execute("SELECT current_user, current_schema(), current_database()")
        owner, schema, database = cursor.fetchone()
        statements = dbroles.grant_statements(
            role=role, owner=owner, schema=schema, database=database
        )
        for statement in statements:
            cursor.execute(statement)
        text = [statement.as_string(cursor.connection) for statement in statements]
    logger.info("Granted the application role %s its rights as %s", role, owner)
    return text


# --- chain verification in the background ----------------------------------------------------

VERIFY_TASK = "audit.run_chain_verification"


def verification_request(
    *, user, full: bool = False, trigger: str = ChainVerification.Trigger.WEB
) -> tuple[ChainVerification, bool]:
    """Ask for a verification of the chain, run by a worker (the job outbox, sent on commit).

    At most one asked for from the page or the API waits or runs at a time: while one does,
    the answer is that one (``(run, False)``); otherwise a new run is queued
    (``(run, True)``). A verification reads the trail and writes only its own record, so it
    records no audit event of its own (which would move the head it verifies). Raises
    PermissionDenied unless the user may verify the chain.
    """
    if user is None or not user.has_perm("audit.verify_auditevent"):
        raise PermissionDenied("You are not allowed to verify the audit chain.")
    running = selectors.verification_active()
    if running is not None:
        return running, False
    try:
        with transaction.atomic():
            run = ChainVerification.objects.create(
                requested_by=user, trigger=trigger, full=full, active=True
            )
            job_enqueue(task=VERIFY_TASK, object_id=run.pk)
    except IntegrityError:  # another request queued one a moment ago: answer with it
        running = selectors.verification_active()
        if running is None:
            raise
        return running, False
    return run, True


def _start(verification_id: int) -> ChainVerification | None:
    with transaction.atomic():
        run = ChainVerification.objects.select_for_update().filter(pk=verification_id).first()
        if run is None or run.is_final:
            return None
        run.status = ChainVerification.Status.RUNNING
        run.started_at = clock.now()
        run.verified = 0
        run.save(update_fields=["status", "started_at", "verified"])
    return run


def _shorter_than_proven(result: AuditVerification, proven: ChainVerification) -> dict | None:
    """The verdict when a chain that is consistent in itself ends before what an earlier run
    proved and no signed checkpoint said so already (events were removed)."""
    if not result.ok or result.checkpoint is None or result.checkpoint.state == BROKEN:
        return None
    return {
        "ok": False,
        "reason": (
            f"the chain ends at sequence {result.chain.count} but verification #{proven.pk} "
            f"proved {proven.target_sequence} events on {format_time(proven.finished_at)}: "
            "events were removed (cut tail or reset)"
        ),
    }


def _verify(run: ChainVerification, *, path: Path | None):
    """Choose the base, record the range, walk it (storing progress) and return the
    result, as ``(AuditVerification, overriding verdict or None)``."""
    checkpoint_file = selectors.audit_checkpoints_read(path)
    head = chain_head()
    base = selectors.FROM_GENESIS if run.full else selectors.verification_base(checkpoint_file)
    shorter = None
    if base.sequence > head.sequence:
        # The chain now ends before a point proven earlier: verify it all, then say so.
        shorter = base.proven
        base = selectors.Base(
            sequence=0,
            hash=GENESIS_HASH,
            note=(
                f"from the first event: the chain head (sequence {head.sequence}) is before "
                f"sequence {base.sequence}, proven earlier"
            ),
        )
    run.base_sequence, run.base_hash, run.base_note = base.sequence, base.hash, base.note[:300]
    run.target_sequence, run.target_hash = head.sequence, head.hash
    run.total = max(head.sequence - base.sequence, 0)
    run.save(
        update_fields=[
            "base_sequence",
            "base_hash",
            "base_note",
            "target_sequence",
            "target_hash",
            "total",
        ]
    )

    def progress(count: int) -> None:
        ChainVerification.objects.filter(pk=run.pk).update(verified=count)

    if base.sequence == 0:
        result = selectors.audit_chain_verify_with_checkpoints(
            checkpoints=checkpoint_file, head=head, progress=progress
        )
    else:
        result = selectors.audit_chain_verify_incremental(
            base=base, head=head, checkpoints=checkpoint_file, progress=progress
        )
    return result, (_shorter_than_proven(result, shorter) if shorter else None)


def verification_execute(
    *, verification_id: int, path: Path | None = None
) -> tuple[ChainVerification, AuditVerification | None]:
    """Run a queued verification and store its outcome; a finished one is left as it is
    (a message delivered twice runs it once). Returns the record and the full result (None
    when there was nothing to run)."""
    run = _start(verification_id)
    if run is None:
        return ChainVerification.objects.get(pk=verification_id), None
    started = time.monotonic()
    result, override = _verify(run, path=path)
    verdict = {**result.as_dict(), **(override or {})}
    run.status = ChainVerification.Status.DONE
    run.active = None
    run.ok = verdict["ok"]
    run.verified = result.chain.count
    run.head_hash = result.chain.head_hash
    run.broken_sequence = result.chain.broken_sequence
    run.broken_id = result.chain.broken_id
    run.reason = verdict["reason"] or ""
    run.checkpoint = verdict["checkpoint"]
    run.finished_at = clock.now()
    run.duration_ms = int((time.monotonic() - started) * 1000)
    run.save()
    if override:
        result = AuditVerification(
            chain=result.chain, checkpoint=result.checkpoint, override=override
        )
    return run, result


def verification_run(
    *,
    trigger: str,
    full: bool,
    user=None,
    path: Path | None = None,
) -> tuple[ChainVerification, AuditVerification]:
    """Verify now, in this process (the command, the nightly task), recording the run."""
    run = ChainVerification.objects.create(requested_by=user, trigger=trigger, full=full)
    return verification_execute(verification_id=run.pk, path=path)


def verification_fail(*, verification_id: int, error: str) -> None:
    """Mark a run that could not finish (its job was given up) failed, freeing the button."""
    ChainVerification.objects.filter(pk=verification_id).exclude(
        status=ChainVerification.Status.DONE
    ).update(
        status=ChainVerification.Status.FAILED,
        active=None,
        error=error[:4000],
        finished_at=clock.now(),
    )
