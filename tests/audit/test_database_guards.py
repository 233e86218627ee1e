"""PostgreSQL's own guards on the audit chain: TRUNCATE refused, the head row protected and
every inserted event made to extend the head (the app's own writes keep working)."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from apps.audit.chain import GENESIS_HASH
from apps.audit.models import AuditChainHead, AuditEvent
from apps.audit.selectors import audit_chain_verify
from apps.inventory import services

pytestmark = pytest.mark.services


@pytest.fixture
def history(model_owner, owned_model):
    for i in range(3):
        services.registered_model_update(actor=model_owner, model=owned_model, purpose=f"P{i}")
    return list(AuditEvent.objects.order_by("sequence"))


def _refused(sql: str, params=(), match: str = "") -> None:
    with connection.cursor() as cursor:
        # The test's own inserts leave deferred foreign-key checks, which TRUNCATE would trip on.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    with (
        pytest.raises(DatabaseError, match=match),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql, params)


@pytest.mark.parametrize(
    ("sql", "match"),
    [
        ("TRUNCATE audit_auditevent", "TRUNCATE refused on audit_auditevent"),
        ("TRUNCATE audit_auditevent CASCADE", "TRUNCATE refused on audit_auditevent"),
        ("TRUNCATE accounts_user CASCADE", "TRUNCATE refused on audit_auditevent"),
        ("TRUNCATE audit_auditchainhead", "head cannot be removed"),
        ("DELETE FROM audit_auditchainhead", "head cannot be removed"),
    ],
)
def test_truncating_or_deleting_is_refused(history, sql, match):
    _refused(sql, match=match)
    assert AuditEvent.objects.count() == 3
    assert audit_chain_verify().ok


def test_the_head_cannot_move_backwards(history):
    _refused(
        "UPDATE audit_auditchainhead SET sequence = %s, hash = %s WHERE id = 1",
        [2, history[1].hash],
        match="cannot move backwards",
    )
    _refused(
        "UPDATE audit_auditchainhead SET sequence = 0, hash = %s WHERE id = 1",
        [GENESIS_HASH],
        match="cannot move backwards",
    )


def test_the_head_cannot_name_a_forged_event(history):
    _refused(
        "UPDATE audit_auditchainhead SET sequence = 4, hash = %s WHERE id = 1",
        ["f" * 64],
        match="must name the last audit event",
    )
    _refused(
        "UPDATE audit_auditchainhead SET hash = %s WHERE id = 1",
        ["f" * 64],
        match="must name the last audit event",
    )
    head = AuditChainHead.objects.get(pk=1)
    assert (head.sequence, head.hash) == (3, history[-1].hash)


def test_an_event_must_extend_the_head(history):
    insert = (
        "INSERT INTO audit_auditevent (sequence, occurred_at, actor_username, action, "
        "object_type, object_id, object_repr, changes, message, request_id, client_ip, "
        "prev_hash, hash) VALUES (%s, now(), 'x', 'update', 't', '1', 'r', '{}', '', '', '', "
        "%s, %s)"
    )
    _refused(insert, [5, history[-1].hash, "a" * 64], match="must extend the chain head")
    _refused(insert, [4, history[0].hash, "a" * 64], match="must extend the chain head")


def test_the_apps_own_appends_still_pass_the_guards(history, model_owner, owned_model):
    services.registered_model_update(actor=model_owner, model=owned_model, purpose="More.")
    head = AuditChainHead.objects.get(pk=1)
    assert head.sequence == 4
    assert audit_chain_verify().ok
