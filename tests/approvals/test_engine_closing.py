"""Closing a request without its effect: rejection, request for changes, withdrawal."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from apps.approvals.choices import ApprovalKind, RequestStatus, Verdict
from apps.approvals.services import approval_withdraw
from apps.audit.models import AuditEvent
from apps.core import roles
from apps.core.errors import ApplicationError
from apps.inventory.choices import EUAIActClass, LifecycleStatus, VersionStage
from apps.inventory.models import ModelVersion, RegisteredModel
from tests.approvals.helpers import request_approval, sign, validate
from tests.factories import ModelVersionFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def pending(owned_model, model_owner, validator):
    """A Tier 2 promotion the validator has already approved; the business owner decides."""
    owned_model.status = LifecycleStatus.APPROVED
    owned_model.risk_tier = 2
    owned_model.eu_ai_act_class = EUAIActClass.MINIMAL
    owned_model.save()
    version = ModelVersionFactory(model=owned_model, version="1.0.0")
    validate(version, model_owner, validator)
    request = request_approval(ApprovalKind.PROMOTION, version, model_owner)
    sign(request, validator)
    return request


def _untouched(request) -> None:
    version = ModelVersion.objects.get(pk=request.subject_id)
    assert version.stage == VersionStage.DEVELOPMENT
    assert RegisteredModel.objects.get(pk=request.model_id).status == LifecycleStatus.APPROVED


@pytest.mark.parametrize(
    ("verdict", "status"),
    [
        (Verdict.REJECT, RequestStatus.REJECTED),
        (Verdict.REQUEST_CHANGES, RequestStatus.CHANGES_REQUESTED),
    ],
)
def test_a_rejection_closes_the_request_and_applies_nothing(
    pending, business_owner, validator, verdict, status
):
    decision = sign(pending, business_owner, verdict, comment="  Wait for Q3 results.  ")
    pending.refresh_from_db()
    assert pending.status == status
    assert pending.closed_at is not None
    assert pending.closing_note == "Wait for Q3 results."
    assert decision.comment == "Wait for Q3 results."
    assert f"signs to {Verdict(verdict).label.lower()}" in decision.meaning
    _untouched(pending)
    closing = AuditEvent.objects.filter(object_type="approvals.approvalrequest").latest("sequence")
    assert closing.changes == {"status": {"before": "pending", "after": status}}
    assert closing.message == "Wait for Q3 results."

    with pytest.raises(ApplicationError, match="it is closed"):
        sign(pending, validator)


def test_a_validator_can_reject_even_after_their_slot_is_filled_by_someone_else(
    pending,
):
    # The validator slot is filled; a second validator may still say no.
    second = UserFactory(username="vera.validator", roles=[roles.VALIDATOR])
    with pytest.raises(ApplicationError, match="not one this request needs"):
        sign(pending, second)
    sign(pending, second, Verdict.REJECT, comment="Calibration is off in band 3.")
    pending.refresh_from_db()
    assert pending.status == RequestStatus.REJECTED
    _untouched(pending)


def test_after_a_rejection_a_new_request_can_be_made(pending, business_owner, model_owner):
    sign(pending, business_owner, Verdict.REJECT, comment="Not now.")
    version = ModelVersion.objects.get(pk=pending.subject_id)
    again = request_approval(ApprovalKind.PROMOTION, version, model_owner)
    assert again.status == RequestStatus.PENDING
    assert not again.decisions.exists()


def test_the_requester_withdraws(pending, model_owner, business_owner):
    approval_withdraw(actor=model_owner, request=pending, reason="  Found a bug.  ")
    pending.refresh_from_db()
    assert (pending.status, pending.closing_note) == (RequestStatus.WITHDRAWN, "Found a bug.")
    event = AuditEvent.objects.filter(object_type="approvals.approvalrequest").latest("sequence")
    assert event.actor == model_owner
    assert event.changes == {"status": {"before": "pending", "after": "withdrawn"}}
    with pytest.raises(ApplicationError, match="it is closed"):
        sign(pending, business_owner)
    with pytest.raises(ApplicationError, match="Only a pending request"):
        approval_withdraw(actor=model_owner, request=pending)
    _untouched(pending)


def test_an_admin_may_withdraw_a_request(pending, admin_user):
    approval_withdraw(actor=admin_user, request=pending, reason="Duplicate.")
    pending.refresh_from_db()
    assert pending.status == RequestStatus.WITHDRAWN


@pytest.mark.parametrize("persona", ["validator", "business_owner", "auditor", "viewer"])
def test_others_cannot_withdraw(pending, request, persona):
    events = AuditEvent.objects.count()
    with pytest.raises(PermissionDenied):
        approval_withdraw(actor=request.getfixturevalue(persona), request=pending)
    pending.refresh_from_db()
    assert pending.status == RequestStatus.PENDING
    assert AuditEvent.objects.count() == events
