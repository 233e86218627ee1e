"""Verification runs: incremental from the last verified checkpoint, full on demand, each one
recorded with its range, progress, outcome and duration.

An incremental run trusts the events up to its base: the highest signed checkpoint at or
before the last point an earlier run proved (the checkpoint's hash, from the signed file, not
the database). It re-hashes the base event, walks only the newer events and compares the chain
with every signed checkpoint. What an insider can do, and which run finds it, is spelt out
case by case below; a full run finds everything the chain alone can show.
"""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from apps.audit import services as audit_services
from apps.audit.chain import compute_hash, verify_events
from apps.audit.models import AuditChainHead, AuditEvent, ChainVerification
from apps.audit.services import audit_checkpoint_write, verification_execute, verification_run
from apps.inventory import services
from apps.jobs.registry import give_up_handler
from tests.audit.tamper import (
    cut_tail_and_rewrite_head,
    edit_and_rehash,
    forge_message,
    raw_cursor,
    truncate_and_reset_head,
)

pytestmark = pytest.mark.django_db


def _edit(model_owner, model, count: int, start: int = 0) -> None:
    for i in range(start, start + count):
        services.registered_model_update(actor=model_owner, model=model, purpose=f"P{i}")


def _run(full: bool = False) -> ChainVerification:
    run, _ = verification_run(trigger=ChainVerification.Trigger.COMMAND, full=full)
    return run


@pytest.fixture
def proven(model_owner, owned_model):
    """Six events, a checkpoint at 6, a run proving 6, then three more events (7-9)."""
    _edit(model_owner, owned_model, 6)
    audit_checkpoint_write(reason="test")
    first = _run()
    assert (first.ok, first.base_sequence, first.target_sequence) == (True, 0, 6)
    _edit(model_owner, owned_model, 3, start=6)
    return first


def test_a_second_run_verifies_only_the_new_events(proven):
    run = _run()
    assert run.ok is True and run.full is False
    assert (run.base_sequence, run.target_sequence, run.total, run.verified) == (6, 9, 3, 3)
    assert "signed checkpoint" in run.base_note and f"#{proven.pk}" in run.base_note
    assert run.checkpoint["state"] == "verified"
    assert run.duration_ms is not None and run.finished_at and run.status == "done"


def test_a_full_run_starts_from_the_first_event(proven):
    run = _run(full=True)
    assert (run.ok, run.base_sequence, run.verified) == (True, 0, 9)


def test_an_edit_after_the_checkpoint_is_found_by_the_incremental_run(proven):
    forge_message(AuditEvent.objects.get(sequence=8).pk)
    run = _run()
    assert run.ok is False and run.broken_sequence == 8
    assert "altered" in run.reason


def test_a_rehashed_chain_is_found_at_the_signed_base(proven):
    """The insider rewrites event 2 and recomputes every later hash and the head: the chain
    is consistent in itself, but event 6 no longer has the hash the signed checkpoint holds."""
    edit_and_rehash(2)
    run = _run()
    assert run.ok is False and run.broken_sequence == 6
    assert "the chain was rewritten up to it" in run.reason


def test_forging_the_proven_run_does_not_move_the_trusted_hash(proven):
    """Whoever can write the verification table cannot make the base trust their hash: the
    base's hash comes from the signed checkpoint."""
    edit_and_rehash(2)
    forged = AuditEvent.objects.get(sequence=6).hash
    ChainVerification.objects.filter(pk=proven.pk).update(target_hash=forged)
    assert _run().ok is False


def test_the_base_row_itself_must_be_unchanged(proven):
    forge_message(AuditEvent.objects.get(sequence=6).pk)
    run = _run()
    assert run.ok is False and run.broken_sequence == 6
    assert "no longer matches its hash" in run.reason


@pytest.mark.parametrize(
    "tamper",
    [lambda: cut_tail_and_rewrite_head(4), truncate_and_reset_head],
    ids=["cut tail, head rewritten", "truncated, head reset"],
)
def test_a_chain_shorter_than_proven_is_verified_in_full_and_found(proven, tamper):
    tamper()
    run = _run()
    assert run.ok is False and run.base_sequence == 0
    assert "is before sequence" in run.base_note
    assert run.checkpoint["state"] == "broken" and "events were removed" in run.reason


def test_without_a_checkpoint_a_cut_tail_is_found_against_the_proven_run(model_owner, owned_model):
    _edit(model_owner, owned_model, 6)
    first = _run()
    assert "no signed checkpoint" not in first.base_note  # the first run starts from scratch
    cut_tail_and_rewrite_head(4)
    run = _run()
    assert run.ok is False
    assert f"verification #{first.pk} proved 6 events" in run.reason


def test_without_a_checkpoint_the_base_is_the_proven_run(model_owner, owned_model):
    _edit(model_owner, owned_model, 4)
    _run()
    _edit(model_owner, owned_model, 2, start=4)
    run = _run()
    assert (run.ok, run.base_sequence, run.verified) == (True, 4, 2)
    assert "no signed checkpoint at or before it" in run.base_note
    assert run.checkpoint["state"] == "unverifiable"


def test_an_old_event_edited_in_place_needs_a_full_run(proven):
    """The limit of an incremental run: an edit of an event before the base that leaves every
    stored hash as it was is found by the full run (nightly, --full, the Full button)."""
    forge_message(AuditEvent.objects.get(sequence=2).pk)
    assert _run().ok is True
    full = _run(full=True)
    assert full.ok is False and full.broken_sequence == 2


def test_an_event_beyond_the_head_is_found(model_owner, owned_model):
    _edit(model_owner, owned_model, 2)
    head = AuditChainHead.objects.get()
    extra = AuditEvent(
        sequence=head.sequence + 1,
        occurred_at=AuditEvent.objects.get(sequence=2).occurred_at,
        actor_username="intruder",
        action="create",
        object_type="x",
        object_id="1",
        object_repr="x",
        prev_hash=head.hash,
    )
    extra.hash = compute_hash(extra.as_chain_dict())
    with raw_cursor():
        extra.save()
    run = _run(full=True)
    assert run.ok is False and run.broken_sequence == 3
    assert "lies beyond the chain head" in run.reason


def test_a_finished_run_is_not_run_again(proven):
    again, result = verification_execute(verification_id=proven.pk)
    assert result is None and again.verified == proven.verified
    assert again.finished_at == proven.finished_at


def test_a_given_up_job_marks_its_run_failed_and_frees_the_button(validator, owned_model):
    run, created = audit_services.verification_request(user=validator)
    assert created and run.active is True
    give_up_handler(audit_services.VERIFY_TASK)(run.pk, "mlgov gave up after 3 attempt(s).")
    run.refresh_from_db()
    assert (run.status, run.active, run.error) == (
        "failed",
        None,
        "mlgov gave up after 3 attempt(s).",
    )
    assert audit_services.verification_request(user=validator)[1] is True


def test_only_readers_who_may_verify_start_a_run(viewer):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        audit_services.verification_request(user=viewer)


def test_the_walk_reports_its_progress():
    seen: list[int] = []
    events = []
    prev = "0" * 64
    for n in range(1, 8):
        event = {"sequence": n, "prev_hash": prev, "message": str(n)}
        event["hash"] = prev = compute_hash(event)
        events.append(event)
    result = verify_events(events, progress=seen.append, progress_every=3)
    assert result.ok and seen == [3, 6]
    tail = verify_events(events[4:], base_sequence=4, base_hash=events[3]["hash"])
    assert tail.ok and tail.count == 3
    wrong = verify_events(events[4:], base_sequence=3, base_hash=events[3]["hash"])
    assert not wrong.ok and "expected sequence 4, found 5" in wrong.reason


# --- the command prints what it verified and how long it took ----------------------------------


def _command(*args) -> str:
    out = StringIO()
    call_command("verify_audit_log", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_the_command_prints_the_events_verified_and_the_time(proven):
    incremental = _command()
    assert "Verified 3 events (sequence 7–9, incremental: events up to 6 proven" in incremental
    assert " s\n" in incremental.splitlines(keepends=True)[0]
    assert "Audit chain OK: 9 events" in incremental
    full = _command("--full")
    assert "Verified 9 events (sequence 1–9, full; run #" in full
    assert "Audit chain OK: 9 events" in full
    assert ChainVerification.objects.filter(trigger="command").count() == 3


def test_the_command_fails_on_a_broken_incremental_run(proven):
    edit_and_rehash(2)
    with pytest.raises(CommandError, match="BROKEN at event sequence 6") as exc:
        _command()
    assert exc.value.returncode == 1
