"""The eight ways of rewriting the audit trail found in review, each detected.

Cases 1-5 break the chain itself. Cases 6-8 leave a chain that is consistent in itself (a
privileged insider disabled the triggers and fixed the head row too), so only the signed
checkpoint outside the database shows them. Each case runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from apps.audit.checkpoints import CheckpointError
from apps.audit.models import AuditEvent
from apps.audit.selectors import audit_chain_verify, audit_chain_verify_with_checkpoints
from apps.audit.services import audit_checkpoint_write
from apps.inventory import services
from tests.audit.tamper import (
    cut_tail_and_rewrite_head,
    edit_and_rehash,
    forge_message,
    owner_cursor,
    raw_sql,
    set_head,
    truncate_and_reset_head,
)

EVENTS = 6


@pytest.fixture
def checkpointed(model_owner, owned_model):
    """Six events, a checkpoint at event 6, then nothing else."""
    for i in range(EVENTS):
        services.registered_model_update(actor=model_owner, model=owned_model, purpose=f"P{i}")
    checkpoint = audit_checkpoint_write(reason="test")
    assert checkpoint.sequence == EVENTS
    return list(AuditEvent.objects.order_by("sequence"))


def _edited_row(events):
    forge_message(events[2].pk)


def _deleted_middle_row(events):
    raw_sql("DELETE FROM audit_auditevent WHERE sequence = %s", [3])


def _reordered(events):
    update = "UPDATE audit_auditevent SET sequence = %s WHERE sequence = %s"
    raw_sql(update, [10**9, 2])
    raw_sql(update, [2, 3])
    raw_sql(update, [3, 10**9])


def _shifted_timestamp(events):
    moved = events[3].occurred_at - dt.timedelta(hours=2)
    raw_sql("UPDATE audit_auditevent SET occurred_at = %s WHERE id = %s", [moved, events[3].pk])


def _cut_tail(events):
    raw_sql("DELETE FROM audit_auditevent WHERE sequence > %s", [4])


def _cut_tail_rewritten_head(events):
    cut_tail_and_rewrite_head(4)


def _truncate_reset_head(events):
    truncate_and_reset_head()


def _rehashed(events):
    edit_and_rehash(2)


# (case, tamper, found by the chain alone, words of the verdict)
CASES = [
    ("1 edited row", _edited_row, True, "sequence 3"),
    ("2 deleted middle row", _deleted_middle_row, True, "sequence 4"),
    ("3 reordered rows", _reordered, True, "sequence 2"),
    ("4 shifted timestamp", _shifted_timestamp, True, "sequence 4"),
    ("5 cut tail", _cut_tail, True, "chain head records 6 events but 4 were found"),
    ("6 cut tail, head rewritten", _cut_tail_rewritten_head, False, "events were removed"),
    ("7 truncate, head reset", _truncate_reset_head, False, "events were removed"),
    ("8 edited row, later hashes recomputed", _rehashed, False, "event 6 has hash"),
]


@pytest.mark.parametrize(
    ("tamper", "chain_alone", "verdict"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_every_tamper_case_is_detected(checkpointed, tamper, chain_alone, verdict):
    tamper(checkpointed)
    assert audit_chain_verify().ok is not chain_alone  # what the chain alone would say
    result = audit_chain_verify_with_checkpoints()
    assert not result.ok
    with pytest.raises(CommandError, match="BROKEN") as exc:
        call_command("verify_audit_log", stdout=StringIO(), stderr=StringIO())
    assert verdict in str(exc.value)
    assert exc.value.returncode == 1


@pytest.mark.parametrize(
    "tamper",
    [_cut_tail_rewritten_head, _truncate_reset_head, _rehashed],
    ids=["6 cut tail, head rewritten", "7 truncate, head reset", "8 re-hashed"],
)
def test_a_rewritten_chain_is_never_signed(checkpointed, settings, tamper):
    """After the rewrite no later checkpoint (schedule or report) can bless it."""
    tamper(checkpointed)
    before = settings.MLGOV_AUDIT_CHECKPOINT_PATH.read_bytes()
    with pytest.raises(CheckpointError, match="No checkpoint was written"):
        audit_checkpoint_write(reason="schedule")
    assert settings.MLGOV_AUDIT_CHECKPOINT_PATH.read_bytes() == before


def test_the_verdict_names_the_checkpoint_for_a_reset_chain(checkpointed):
    truncate_and_reset_head()
    message = str(audit_chain_verify_with_checkpoints().checkpoint.reason)
    assert "the chain ends at sequence 0" in message
    assert f"records sequence {EVENTS} with hash {checkpointed[-1].hash}" in message


def test_a_head_that_names_no_event_is_never_signed(checkpointed, settings):
    with owner_cursor() as cursor:
        set_head(cursor, EVENTS, "f" * 64)
    with pytest.raises(CheckpointError, match="which the audit table does not hold"):
        audit_checkpoint_write(reason="schedule")
