"""Staleness: a request freezes the content; if it changes, the request cannot be approved."""

from __future__ import annotations

import pytest

from apps.approvals.choices import ApprovalKind, RequestStatus
from apps.approvals.models import ApprovalRequest, Decision
from apps.approvals.services import approval_requests_invalidate, content_sha256
from apps.audit.models import AuditEvent
from apps.core.errors import ApplicationError
from apps.inventory import services
from apps.inventory.choices import EUAIActClass, LifecycleStatus, VersionStage
from tests.approvals.helpers import request_approval, sign
from tests.factories import ModelVersionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def version(owned_model):
    owned_model.status = LifecycleStatus.APPROVED
    owned_model.risk_tier = 3
    owned_model.eu_ai_act_class = EUAIActClass.MINIMAL
    owned_model.save()
    return ModelVersionFactory(model=owned_model, version="1.0.0", evaluation_metrics={"auc": 0.8})


def test_the_request_freezes_the_content_and_its_hash(model_owner, version):
    pending = request_approval(ApprovalKind.PROMOTION, version, model_owner)
    assert pending.content["version"] == "1.0.0"
    assert pending.content["evaluation_metrics"] == {"auc": 0.8}
    assert pending.content["artifact_sha256"] == version.artifact_sha256
    assert pending.content_sha256 == content_sha256(pending.content)
    assert len(pending.content_sha256) == 64
    assert pending.tier_at_request == 3


def test_a_changed_subject_makes_the_decision_refused_and_the_request_stale(
    model_owner, business_owner, version
):
    pending = request_approval(ApprovalKind.PROMOTION, version, model_owner)
    services.model_version_update(
        actor=model_owner, version=version, evaluation_metrics={"auc": 0.95}
    )
    with pytest.raises(ApplicationError, match="stale"):
        sign(pending, business_owner)

    pending.refresh_from_db()
    assert pending.status == RequestStatus.STALE
    assert pending.closed_at is not None
    assert "request approval again" in pending.closing_note
    assert not Decision.objects.exists()
    event = AuditEvent.objects.filter(object_type="approvals.approvalrequest").latest("sequence")
    assert event.changes == {"status": {"before": "pending", "after": "stale"}}
    version.refresh_from_db()
    assert version.stage == VersionStage.DEVELOPMENT


def test_a_partly_approved_request_also_goes_stale(model_owner, validator, business_owner, version):
    version.model.risk_tier = 2
    version.model.save()
    services.model_version_update(actor=model_owner, version=version, description="Candidate.")
    validation = request_approval(ApprovalKind.VALIDATION_SIGNOFF, version, model_owner)
    sign(validation, validator)
    pending = request_approval(ApprovalKind.PROMOTION, version, model_owner)
    sign(pending, validator)
    # A tier change is part of what was approved.
    version.model.risk_tier = 1
    version.model.save()
    with pytest.raises(ApplicationError, match="stale"):
        sign(pending, business_owner)
    pending.refresh_from_db()
    assert pending.status == RequestStatus.STALE
    assert pending.decisions.count() == 1


def test_invalidate_marks_only_requests_whose_content_changed(model_owner, version):
    pending = request_approval(ApprovalKind.PROMOTION, version, model_owner)
    assert approval_requests_invalidate(actor=model_owner, subject=version) == 0
    pending.refresh_from_db()
    assert pending.status == RequestStatus.PENDING

    services.model_version_update(actor=model_owner, version=version, code_commit="fedcba9")
    assert approval_requests_invalidate(actor=model_owner, subject=version, reason="Rebuilt.") == 1
    pending.refresh_from_db()
    assert (pending.status, pending.closing_note) == (RequestStatus.STALE, "Rebuilt.")


def test_a_stale_request_is_asked_again_and_the_new_one_can_be_approved(
    model_owner, business_owner, version
):
    first = request_approval(ApprovalKind.PROMOTION, version, model_owner)
    services.model_version_update(actor=model_owner, version=version, code_commit="fedcba9")
    approval_requests_invalidate(actor=model_owner, subject=version)
    with pytest.raises(ApplicationError, match=r"stale \(content changed\); it is closed"):
        sign(first, business_owner)

    second = request_approval(ApprovalKind.PROMOTION, version, model_owner)
    assert second.content_sha256 != first.content_sha256
    sign(second, business_owner)
    version.refresh_from_db()
    assert version.stage == VersionStage.PRODUCTION


def test_only_one_request_waits_per_subject_and_kind(model_owner, version):
    request_approval(ApprovalKind.PROMOTION, version, model_owner)
    with pytest.raises(ApplicationError, match="already waiting"):
        request_approval(ApprovalKind.PROMOTION, version, model_owner)
    assert ApprovalRequest.objects.count() == 1
