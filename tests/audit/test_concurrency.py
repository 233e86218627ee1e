"""Concurrent writers append to one chain: no gaps, no duplicates, no fork (PostgreSQL)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from apps.audit.checkpoints import read_file
from apps.audit.models import AuditChainHead, AuditEvent
from apps.audit.selectors import audit_chain_verify, audit_chain_verify_with_checkpoints
from apps.audit.services import audit_checkpoint_write
from apps.core import roles
from apps.core.signing import installation_keyset
from apps.inventory import services
from apps.inventory.models import RegisteredModel
from tests.factories import RegisteredModelFactory, UserFactory

THREADS = 8
WRITES_PER_THREAD = 10


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_concurrent_service_writes_keep_one_gap_free_chain():
    if connection.vendor != "postgresql":
        pytest.skip("row locking is only meaningful on PostgreSQL")
    # As after `migrate`: the transactional test database may have been flushed.
    AuditChainHead.objects.get_or_create(pk=1)
    owner = UserFactory(username="concurrent.owner", roles=[roles.MODEL_OWNER])
    model_ids = [RegisteredModelFactory(owner=owner).pk for _ in range(THREADS)]
    barrier = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def writer(model_id: int) -> None:
        try:
            actor = type(owner).objects.get(pk=owner.pk)
            barrier.wait(timeout=30)
            for i in range(WRITES_PER_THREAD):
                model = RegisteredModel.objects.get(pk=model_id)
                services.registered_model_update(
                    actor=actor, model=model, purpose=f"Write {i} from model {model_id}."
                )
        except BaseException as exc:  # reported to the main thread below
            errors.append(exc)
        finally:
            # Each thread has its own connection; close it so the test database can be dropped.
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(pk,)) for pk in model_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert not errors, errors
    total = THREADS * WRITES_PER_THREAD
    sequences = list(AuditEvent.objects.order_by("sequence").values_list("sequence", flat=True))
    assert sequences == list(range(1, total + 1))
    assert AuditEvent.objects.values("prev_hash").distinct().count() == total  # no fork
    for model_id in model_ids:
        assert AuditEvent.objects.filter(model_ref=model_id).count() == WRITES_PER_THREAD
    result = audit_chain_verify()
    assert result.ok, result.reason
    assert result.count == total
    assert AuditChainHead.objects.get(pk=1).sequence == total


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_checkpoints_written_during_concurrent_appends_are_all_valid_and_in_order(settings):
    """Scheduled and report checkpoints from several processes' worth of threads, while
    writers append: none is refused, the file's sequences never go down, the chain verifies."""
    if connection.vendor != "postgresql":
        pytest.skip("row locking is only meaningful on PostgreSQL")
    AuditChainHead.objects.get_or_create(pk=1)
    owner = UserFactory(username="checkpoint.owner", roles=[roles.MODEL_OWNER])
    model_ids = [RegisteredModelFactory(owner=owner).pk for _ in range(4)]
    errors: list[BaseException] = []
    stop = threading.Event()

    def writer(model_id: int) -> None:
        try:
            actor = type(owner).objects.get(pk=owner.pk)
            for i in range(WRITES_PER_THREAD):
                model = RegisteredModel.objects.get(pk=model_id)
                services.registered_model_update(actor=actor, model=model, purpose=f"W{i}.")
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    def checkpointer() -> None:
        try:
            while not stop.is_set():
                audit_checkpoint_write(reason="concurrency test")
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    writers = [threading.Thread(target=writer, args=(pk,)) for pk in model_ids]
    checkpointers = [threading.Thread(target=checkpointer) for _ in range(3)]
    for thread in checkpointers + writers:
        thread.start()
    for thread in writers:
        thread.join(timeout=120)
    stop.set()
    for thread in checkpointers:
        thread.join(timeout=60)

    assert not errors, errors
    written = read_file(settings.MLGOV_AUDIT_CHECKPOINT_PATH, keyset=installation_keyset())
    assert written.invalid == [] and len(written.valid) >= 3
    sequences = [c.sequence for c in written.valid]
    assert sequences == sorted(sequences)
    result = audit_chain_verify_with_checkpoints()
    assert result.verified, result.as_dict()
