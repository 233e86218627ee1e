"""Four-eyes rules of the approval engine, as a table of cases.

Every refusal leaves no decision, no audit event and the request pending.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied

from apps.approvals.choices import ApprovalKind, RequestStatus, Verdict
from apps.approvals.models import Decision
from apps.approvals.services import approval_decide
from apps.audit.models import AuditEvent
from apps.core import roles
from apps.core.errors import ApplicationError
from apps.inventory.choices import EUAIActClass, LifecycleStatus, VersionStage
from tests.approvals.helpers import PASSWORD, request_approval, sign, validate
from tests.factories import ModelVersionFactory, RegisteredModelFactory, UserFactory

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class Case:
    name: str
    actor: str
    refused: type[Exception] | str  # PermissionDenied or a phrase of the ApplicationError
    requester: str = "model_owner"
    verdict: str = Verdict.APPROVE
    password: str = PASSWORD
    comment: str = ""
    signed_before: tuple[str, ...] = ()
    field: str | None = None


CASES = [
    Case("requester_cannot_approve_own_request", "validator", "You made this request",
         requester="validator"),
    Case("model_owner_role_cannot_decide_at_all", "model_owner", PermissionDenied),
    Case("model_owner_who_is_a_validator_cannot_approve_own_model", "owner_validator",
         "You own or develop this model", requester="admin_user"),
    Case("developer_who_is_a_validator_cannot_approve", "developer_validator",
         "You own or develop this model"),
    Case("one_person_cannot_fill_two_slots", "validator", "already decided",
         signed_before=("validator",)),
    Case("business_owner_of_another_model_cannot_fill_the_slot", "other_business_owner",
         PermissionDenied),
    Case("auditor_cannot_decide", "auditor", PermissionDenied),
    Case("viewer_cannot_decide", "viewer", PermissionDenied),
    Case("user_without_a_role_cannot_decide", "outsider", PermissionDenied),
    Case("admin_fills_no_slot_the_policy_names", "admin_user", "not one this request needs"),
    Case("wrong_password_is_refused", "validator", "password is not correct",
         password="wrong-horse", field="password"),
    Case("empty_password_is_refused", "business_owner", "password is not correct",
         password="", field="password"),
    Case("rejection_needs_a_comment", "business_owner", "comment is required",
         verdict=Verdict.REJECT, comment="  ", field="comment"),
    Case("request_changes_needs_a_comment", "validator", "comment is required",
         verdict=Verdict.REQUEST_CHANGES, field="comment"),
    Case("unknown_verdict_is_refused", "validator", "Choose approve", verdict="maybe",
         field="verdict"),
]  # fmt: skip


@pytest.fixture
def people(request, admin_user, validator, business_owner, model_owner, auditor, viewer, outsider):
    """Everyone the table names, keyed like the Case fields."""
    other_business_owner = UserFactory(username="ob.otherbo", roles=[roles.BUSINESS_OWNER])
    RegisteredModelFactory(slug="their-model", business_owner=other_business_owner)
    return {
        "admin_user": admin_user,
        "validator": validator,
        "business_owner": business_owner,
        "model_owner": model_owner,
        "auditor": auditor,
        "viewer": viewer,
        "outsider": outsider,
        "other_business_owner": other_business_owner,
        "owner_validator": UserFactory(
            username="ov.ownerval", roles=[roles.MODEL_OWNER, roles.VALIDATOR]
        ),
        "developer_validator": UserFactory(username="dv.devval", roles=[roles.VALIDATOR]),
    }


@pytest.fixture
def version(people):
    """An approved Tier 1 model (owned by a validator-owner, developed by the model owner and a
    validator-developer) and a validated version ready for promotion: slots business owner
    and validator."""
    model = RegisteredModelFactory(
        slug="credit",
        owner=people["owner_validator"],
        business_owner=people["business_owner"],
        status=LifecycleStatus.APPROVED,
        risk_tier=1,
        eu_ai_act_class=EUAIActClass.HIGH_RISK,
        eu_annex_iii_point="5(b)",
    )
    model.developers.add(people["model_owner"], people["developer_validator"])
    version = ModelVersionFactory(model=model, version="2.0.0")
    validate(version, people["model_owner"], people["validator"])
    return version


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_four_eyes(case, people, version):
    pending = request_approval(ApprovalKind.PROMOTION, version, people[case.requester])
    for name in case.signed_before:
        sign(pending, people[name])
    decisions, events = Decision.objects.count(), AuditEvent.objects.count()

    expected = case.refused if isinstance(case.refused, type) else ApplicationError
    with pytest.raises(expected) as exc:
        approval_decide(
            actor=people[case.actor],
            request=pending,
            verdict=case.verdict,
            password=case.password,
            comment=case.comment,
        )
    if isinstance(case.refused, str):
        assert case.refused in exc.value.message
    if case.field:
        assert exc.value.field_errors[case.field]
    pending.refresh_from_db()
    assert pending.status == RequestStatus.PENDING
    assert Decision.objects.count() == decisions
    # A wrong password is the one refusal the trail records: a failed signature attempt.
    failed = ["signature_failed"] if case.name == "wrong_password_is_refused" else []
    new_events = AuditEvent.objects.order_by("sequence")[events:]
    assert [e.action for e in new_events] == failed
    version.refresh_from_db()
    assert version.stage == VersionStage.DEVELOPMENT


def test_the_independent_validator_and_named_business_owner_approve(people, version):
    pending = request_approval(ApprovalKind.PROMOTION, version, people["model_owner"])
    sign(pending, people["validator"])
    sign(pending, people["business_owner"])
    pending.refresh_from_db()
    assert pending.status == RequestStatus.APPROVED
    assert {(d.approver.username, d.slot) for d in pending.decisions.all()} == {
        ("val.validator", "validator"),
        ("bea.business", "business_owner"),
    }


def test_a_validator_who_is_the_named_business_owner_fills_only_one_slot(people, version):
    # Both slots fit this person, yet one person signs once: the other slot stays open.
    model = version.model
    model.business_owner = people["developer_validator"]
    model.developers.remove(people["developer_validator"])
    model.save()
    dual = people["developer_validator"]
    dual.groups.add(Group.objects.get_or_create(name=roles.BUSINESS_OWNER)[0])
    pending = request_approval(ApprovalKind.PROMOTION, version, people["model_owner"])

    decision = sign(pending, dual)
    with pytest.raises(ApplicationError, match="already decided"):
        sign(pending, dual)
    pending.refresh_from_db()
    assert decision.slot == "business_owner"
    assert pending.status == RequestStatus.PENDING
    sign(pending, people["validator"])
    pending.refresh_from_db()
    assert pending.status == RequestStatus.APPROVED


def test_a_validator_is_not_asked_for_a_tier_3_promotion(people, version):
    model = version.model
    model.risk_tier = 3
    model.eu_ai_act_class = EUAIActClass.MINIMAL
    model.eu_annex_iii_point = ""
    model.save()
    pending = request_approval(ApprovalKind.PROMOTION, version, people["model_owner"])
    assert pending.required_slots == ["business_owner"]
    with pytest.raises(ApplicationError, match="still needed: Named business owner"):
        sign(pending, people["validator"])
    sign(pending, people["business_owner"])
    pending.refresh_from_db()
    assert pending.status == RequestStatus.APPROVED


def test_a_signature_records_who_when_what_hash_and_its_meaning(people, version):
    pending = request_approval(ApprovalKind.PROMOTION, version, people["model_owner"])
    decision = sign(pending, people["business_owner"])
    assert decision.content_sha256 == pending.content_sha256
    assert decision.signed_at is not None
    assert "as Named business owner" in decision.meaning
    assert pending.content_sha256 in decision.meaning
    assert "signs to approve" in decision.meaning
    event = AuditEvent.objects.filter(action="decide").latest("sequence")
    assert event.actor == people["business_owner"]
    assert event.changes["content_sha256"]["after"] == pending.content_sha256
    assert event.model_ref == version.model_id
