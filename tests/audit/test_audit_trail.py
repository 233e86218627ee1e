"""The audit trail in the database: verification, tamper detection and immutability.

Tampering is done with raw SQL, as someone with database access would. On PostgreSQL the
immutability trigger refuses that too, so the tamper helpers switch the session to replica
mode (which skips ordinary triggers; the test role is a superuser) inside the test's
transaction and switch it back afterwards.
"""

from __future__ import annotations

import itertools

import pytest
from django.db import DatabaseError, connection, transaction

from apps.audit.models import AuditChainHead, AuditEvent, AuditImmutableError
from apps.audit.selectors import audit_chain_verify
from apps.inventory import services
from tests.audit.tamper import raw_cursor

SPARE_SEQUENCE = 10**9  # free value for swapping two unique sequences


def _alter_changes(sequence: int) -> None:
    forged = '{"purpose": {"before": "x", "after": "forged"}}'
    cast = "::jsonb" if connection.vendor == "postgresql" else ""
    with raw_cursor() as cursor:
        cursor.execute(
            f"UPDATE audit_auditevent SET changes = %s{cast} WHERE sequence = %s",
            [forged, sequence],
        )


def _delete(sequence: int) -> None:
    with raw_cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE sequence = %s", [sequence])


def _swap(first: int, second: int) -> None:
    with raw_cursor() as cursor:
        update = "UPDATE audit_auditevent SET sequence = %s WHERE sequence = %s"
        cursor.execute(update, [SPARE_SEQUENCE, first])
        cursor.execute(update, [first, second])
        cursor.execute(update, [second, SPARE_SEQUENCE])


@pytest.fixture
def history(model_owner, owned_model):
    """Five audited writes: events with sequences 1..5."""
    for i in range(5):
        services.registered_model_update(actor=model_owner, model=owned_model, purpose=f"P{i}")
    assert AuditEvent.objects.count() == 5
    return list(AuditEvent.objects.order_by("sequence"))


def test_every_write_extends_one_intact_chain(history):
    assert [e.sequence for e in history] == [1, 2, 3, 4, 5]
    assert history[0].prev_hash == "0" * 64
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(history))
    head = AuditChainHead.objects.get(pk=1)
    assert (head.sequence, head.hash) == (5, history[-1].hash)
    result = audit_chain_verify()
    assert (result.ok, result.count, result.head_hash) == (True, 5, history[-1].hash)


def test_an_empty_trail_verifies(db):
    result = audit_chain_verify()
    assert (result.ok, result.count) == (True, 0)


def test_events_are_stored_in_utc(history):
    assert all(e.occurred_at.utcoffset().total_seconds() == 0 for e in history)


@pytest.mark.parametrize("sequence", [1, 3, 5])
def test_altering_one_event_is_detected(history, sequence):
    _alter_changes(sequence)
    result = audit_chain_verify()
    assert not result.ok
    assert result.broken_sequence == sequence
    assert result.broken_id == history[sequence - 1].pk
    assert "altered" in result.reason


def test_deleting_an_event_in_the_middle_is_detected(history):
    _delete(3)
    result = audit_chain_verify()
    assert not result.ok
    assert result.broken_sequence == 4
    assert "missing or reordered" in result.reason


def test_deleting_the_last_event_is_detected_against_the_head(history):
    _delete(5)
    result = audit_chain_verify()
    assert not result.ok
    assert result.broken_sequence == 5
    assert "chain head records 5 events but 4 were found" in result.reason


def test_reordering_two_events_is_detected(history):
    _swap(2, 3)
    result = audit_chain_verify()
    assert not result.ok
    assert result.broken_sequence == 2


def test_the_chain_continues_correctly_after_verification(history, model_owner, owned_model):
    services.registered_model_update(actor=model_owner, model=owned_model, purpose="Later.")
    assert audit_chain_verify().count == 6


# --- immutability through the app ----------------------------------------------------------


def test_an_event_cannot_be_saved_again(history):
    event = history[0]
    event.message = "edited"
    with pytest.raises(AuditImmutableError):
        event.save()


def test_an_event_cannot_be_deleted(history):
    with pytest.raises(AuditImmutableError):
        history[0].delete()


def test_a_queryset_cannot_update_or_delete_events(history):
    with pytest.raises(AuditImmutableError):
        AuditEvent.objects.filter(sequence=1).update(message="edited")
    with pytest.raises(AuditImmutableError):
        AuditEvent.objects.all().delete()
    # bulk_update runs inside its own atomic block; keep its failure out of the test's.
    with pytest.raises(AuditImmutableError), transaction.atomic():
        AuditEvent.objects.bulk_update(history[:1], ["message"])
    assert AuditEvent.objects.count() == 5
    assert audit_chain_verify().ok


# --- immutability in PostgreSQL itself -----------------------------------------------------


@pytest.mark.services
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE audit_auditevent SET message = 'edited' WHERE sequence = 1",
        "DELETE FROM audit_auditevent WHERE sequence = 1",
    ],
)
def test_the_postgresql_trigger_refuses_update_and_delete(history, sql):
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql)
    assert AuditEvent.objects.count() == 5
    assert audit_chain_verify().ok


def test_large_and_small_numbers_survive_the_database_round_trip(model_owner, owned_model):
    # PostgreSQL's jsonb rewrites 1e+20 as 100000000000000000000; the hash must not care.
    services.model_version_register(
        actor=model_owner,
        model=owned_model,
        version="1.0",
        artifact_uri="s3://models/1.0",
        artifact_sha256="a" * 64,
        hyperparameters={"C": 1e20, "tol": 1e-12, "eta": 0.1, "rounds": 500, "scale": 2.0},
        evaluation_metrics={"auc": 0.9123456789012345, "loss": 1.5e16},
    )
    result = audit_chain_verify()
    assert result.ok, result.reason


@pytest.mark.django_db(transaction=True)
def test_audit_record_refuses_to_write_outside_a_transaction():
    from apps.audit.services import audit_record

    with pytest.raises(RuntimeError, match=r"inside transaction\.atomic"):
        audit_record(actor=None, action="update", object_type="x", object_id="1")
    assert not AuditEvent.objects.exists()


def test_a_batch_of_events_chains_like_single_ones(history, model_owner, owned_model):
    from apps.audit.services import audit_record, audit_record_many

    with transaction.atomic():
        batch = audit_record_many(
            [
                {"actor": model_owner, "action": "update", "obj": owned_model, "message": f"b{i}"}
                for i in range(3)
            ]
        )
        audit_record(actor=model_owner, action="update", obj=owned_model, message="after")
    events = list(AuditEvent.objects.order_by("sequence"))
    assert [e.sequence for e in batch] == [6, 7, 8]
    assert [e.message for e in events[5:]] == ["b0", "b1", "b2", "after"]
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(events))
    assert audit_chain_verify().ok
