"""manage.py verify_audit_log: count and head hash on success, names the broken event."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from apps.audit.models import AuditEvent
from apps.inventory import services
from tests.audit.tamper import raw_sql


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
