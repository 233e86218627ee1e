"""The nightly audit-chain verification task, run in process."""

from __future__ import annotations

import logging

import pytest
from django.conf import settings

from apps.audit.models import AuditEvent
from apps.audit.tasks import verify_audit_chain, write_checkpoint
from apps.core.tasks import ping
from apps.inventory import services
from tests.audit.tamper import forge_message, truncate_and_reset_head
from tests.factories import BusinessUnitFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def audited_models(model_owner, business_owner):
    unit = BusinessUnitFactory()
    for slug in ("first-model", "second-model"):
        services.registered_model_create(
            actor=model_owner,
            slug=slug,
            name=slug.replace("-", " ").title(),
            purpose="Forecast weekly demand.",
            business_unit=unit,
            business_owner=business_owner,
        )


def test_it_reports_an_intact_chain(audited_models, caplog):
    caplog.set_level(logging.INFO, logger="apps.audit.tasks")
    result = verify_audit_chain.delay().get()
    assert result["ok"] is True
    assert result["count"] == AuditEvent.objects.count() == 2
    assert result["head_hash"] == AuditEvent.objects.order_by("-sequence").first().hash
    assert "Audit chain OK: 2 events" in caplog.text


def test_it_is_idempotent(audited_models):
    assert verify_audit_chain.delay().get() == verify_audit_chain.delay().get()
    assert AuditEvent.objects.count() == 2


def test_it_reports_and_logs_the_first_altered_event(audited_models, caplog):
    first = AuditEvent.objects.order_by("sequence").first()
    forge_message(first.pk)
    result = verify_audit_chain.delay().get()
    assert result["ok"] is False
    assert result["broken_sequence"] == first.sequence
    assert "BROKEN" in caplog.text


def test_it_runs_nightly():
    entries = [
        e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"] == verify_audit_chain.name
    ]
    assert len(entries) == 1


def test_ping_answers_pong():
    assert ping.delay().get() == "pong"


# --- signed checkpoints on a schedule ------------------------------------------------------------


def test_a_checkpoint_is_written_on_a_schedule():
    entry = settings.CELERY_BEAT_SCHEDULE["audit-checkpoint"]
    assert entry["task"] == "audit.write_checkpoint"
    assert entry["schedule"].total_seconds() == settings.MLGOV_AUDIT_CHECKPOINT_MINUTES * 60


def test_the_checkpoint_task_signs_the_head_and_the_nightly_check_uses_it(audited_models, caplog):
    caplog.set_level(logging.INFO, logger="apps.audit.tasks")
    result = write_checkpoint.delay().get()
    head = AuditEvent.objects.order_by("-sequence").first()
    assert result["ok"] is True
    assert (result["checkpoint"]["sequence"], result["checkpoint"]["hash"]) == (2, head.hash)
    lines = settings.MLGOV_AUDIT_CHECKPOINT_PATH.read_text().splitlines()
    assert len(lines) == 1 and head.hash in lines[0]
    verified = verify_audit_chain.delay().get()
    assert verified["checkpoint"]["state"] == "verified"


def test_the_checkpoint_task_refuses_a_rewritten_chain_and_logs_it(audited_models, caplog):
    write_checkpoint.delay().get()
    truncate_and_reset_head()
    result = write_checkpoint.delay().get()
    assert result["ok"] is False
    assert "events were removed" in result["error"]
    assert "Audit checkpoint NOT written" in caplog.text
    assert len(settings.MLGOV_AUDIT_CHECKPOINT_PATH.read_text().splitlines()) == 1
    verified = verify_audit_chain.delay().get()
    assert verified["ok"] is False and verified["checkpoint"]["state"] == "broken"
    assert "Audit chain BROKEN against its signed checkpoints" in caplog.text


def test_the_nightly_check_warns_when_there_is_no_checkpoint(audited_models, caplog):
    result = verify_audit_chain.delay().get()
    assert result["ok"] is True and result["checkpoint"]["state"] == "unverifiable"
    assert "NOT VERIFIED against a checkpoint" in caplog.text
