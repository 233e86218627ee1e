"""manage.py verify_audit_log: count and head hash on success, names the broken event."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from apps.audit import checkpoints
from apps.audit.models import AuditEvent
from apps.audit.services import audit_checkpoint_write
from apps.core.signing import Signer, generate_private_key_pem, installation_signer
from apps.inventory import services
from tests.audit.tamper import cut_tail_and_rewrite_head, raw_sql


def _verify() -> str:
    out = StringIO()
    call_command("verify_audit_log", stdout=out)
    return out.getvalue()


@pytest.fixture
def history(model_owner, owned_model):
    for i in range(3):
        services.registered_model_update(actor=model_owner, model=owned_model, purpose=f"P{i}")
    return list(AuditEvent.objects.order_by("sequence"))


def test_it_prints_the_count_and_head_hash(history):
    output = _verify()
    assert "Audit chain OK: 3 events" in output
    assert history[-1].hash in output


def test_it_passes_on_an_empty_trail(db):
    assert "0 events" in _verify()


def test_it_names_the_altered_event_and_fails(history):
    raw_sql("UPDATE audit_auditevent SET message = %s WHERE sequence = %s", ["forged", 2])
    with pytest.raises(CommandError) as exc:
        _verify()
    assert exc.value.returncode != 0
    assert f"sequence 2 (id {history[1].pk})" in str(exc.value)
    assert "altered" in str(exc.value)


@pytest.mark.parametrize(("sequence", "named"), [(2, 3), (3, 3)])
def test_it_fails_when_an_event_is_deleted(history, sequence, named):
    raw_sql("DELETE FROM audit_auditevent WHERE sequence = %s", [sequence])
    with pytest.raises(CommandError, match=f"sequence {named}"):
        _verify()


def test_it_fails_when_events_are_reordered(history):
    update = "UPDATE audit_auditevent SET sequence = %s WHERE sequence = %s"
    raw_sql(update, [10**9, 1])
    raw_sql(update, [1, 2])
    raw_sql(update, [2, 10**9])
    with pytest.raises(CommandError, match="sequence 1"):
        _verify()


# --- against the signed checkpoints -------------------------------------------------------------


def _run(*args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("verify_audit_log", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_without_a_checkpoint_file_it_warns_that_nothing_was_compared(history, settings):
    out, err = _run()
    assert "Audit chain OK: 3 events" in out
    assert "Checkpoint NOT VERIFIED" in err
    assert f"no checkpoint file at {settings.MLGOV_AUDIT_CHECKPOINT_PATH}" in err
    assert "cut tail, a reset or a re-hashed chain cannot be detected" in err


def test_it_can_require_a_checkpoint(history):
    with pytest.raises(CommandError, match="Checkpoint NOT VERIFIED") as exc:
        _run("--require-checkpoint")
    assert exc.value.returncode == 2


def test_it_verifies_the_chain_against_the_latest_checkpoint(history, model_owner, owned_model):
    audit_checkpoint_write(reason="test")
    services.registered_model_update(actor=model_owner, model=owned_model, purpose="Later.")
    latest = audit_checkpoint_write(reason="test")
    out, err = _run("--require-checkpoint")
    assert "Audit chain OK: 4 events" in out
    assert (
        f"Checkpoint VERIFIED: the chain holds the latest signed checkpoint ({latest.describe()})"
    )
    assert f"hash {latest.hash}" in out and f"key {latest.key_id}" in out
    assert "and 1 earlier one(s)" in out
    assert err == ""


def test_a_checkpoint_file_given_on_the_command_line_is_read(history, tmp_path):
    elsewhere = tmp_path / "copy.jsonl"
    audit_checkpoint_write(reason="test", path=elsewhere)
    out, _ = _run("--checkpoints", str(elsewhere), "--require-checkpoint")
    assert "Checkpoint VERIFIED" in out


def test_lines_that_are_not_signed_checkpoints_are_named_and_ignored(history, settings):
    path = settings.MLGOV_AUDIT_CHECKPOINT_PATH
    real = audit_checkpoint_write(reason="test")
    record = json.loads(path.read_text().splitlines()[0])
    forged = {**record, "sequence": 99}  # the signature no longer matches
    other_key = Signer.from_pem(generate_private_key_pem())
    foreign = checkpoints.sign(
        sequence=99, hash="e" * 64, event_at=None, checkpointed_at="x", reason="x", signer=other_key
    )
    with path.open("a") as handle:
        handle.write(json.dumps(forged) + "\n")
        handle.write(checkpoints.line_bytes(foreign).decode())
        handle.write("{torn\n")
    out, err = _run()
    assert (
        f"Checkpoint VERIFIED: the chain holds the latest signed checkpoint ({real.describe()})"
        in out
    )
    assert "line 2: signature: the Ed25519 signature" in err
    assert f"line 3: signature: signed with key {other_key.key_id}, which is not among" in err
    assert "line 4: not JSON" in err


def test_an_older_checkpoint_appended_again_does_not_hide_a_cut_tail(history, settings):
    """Whoever can append to the file can replay an old line; the highest sequence counts."""
    signer = installation_signer()
    at_2 = checkpoints.sign(
        sequence=2,
        hash=history[1].hash,
        event_at=None,
        checkpointed_at="t2",
        reason="x",
        signer=signer,
    )
    audit_checkpoint_write(reason="test")  # sequence 3
    with settings.MLGOV_AUDIT_CHECKPOINT_PATH.open("ab") as handle:
        handle.write(checkpoints.line_bytes(at_2))  # replayed after it
    cut_tail_and_rewrite_head(2)
    with pytest.raises(CommandError, match="the chain ends at sequence 2 but the checkpoint of"):
        _run()


def test_a_checkpoint_can_be_taken_by_hand(history, settings):
    out = StringIO()
    call_command("audit_checkpoint", "--reason", "before backup", stdout=out)
    (line,) = settings.MLGOV_AUDIT_CHECKPOINT_PATH.read_text().splitlines()
    record = json.loads(line)
    assert (record["sequence"], record["reason"]) == (3, "before backup")
    assert f"sequence 3, hash {history[-1].hash}" in out.getvalue()


def test_a_hand_checkpoint_of_a_rewritten_chain_is_refused(history):
    call_command("audit_checkpoint", stdout=StringIO())
    cut_tail_and_rewrite_head(2)
    with pytest.raises(CommandError, match="events were removed"):
        call_command("audit_checkpoint", stdout=StringIO())
