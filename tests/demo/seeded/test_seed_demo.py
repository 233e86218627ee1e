"""manage.py seed_demo: demo users and inventory, idempotent, written through the services.

The demo is seeded once for the package (conftest.py); the password read from the
environment is tested on an empty database, in tests/demo/test_seed_demo_password.py."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from apps.accounts.models import User
from apps.approvals.choices import ApprovalKind, ApproverRole, RequestStatus, Verdict
from apps.approvals.models import ApprovalRequest, Decision
from apps.approvals.selectors import filled_slots, waiting_for
from apps.audit.models import AuditEvent
from apps.audit.selectors import audit_chain_verify
from apps.core import roles
from apps.demo.data.users import DEMO_USERS
from apps.demo.passwords import DEFAULT_DEMO_PASSWORD
from apps.inventory.choices import EUAIActClass, LifecycleStatus, RiskAssessmentStatus, VersionStage
from apps.inventory.models import (
    Dataset,
    Deployment,
    ModelDependency,
    ModelVersion,
    RegisteredModel,
    RiskAssessment,
)

pytestmark = pytest.mark.django_db


def _counts() -> dict[str, int]:
    return {
        m.__name__: m.objects.count()
        for m in (
            User,
            RegisteredModel,
            ModelVersion,
            Dataset,
            Deployment,
            ModelDependency,
            RiskAssessment,
            ApprovalRequest,
            Decision,
            AuditEvent,
        )
    }


@pytest.fixture(autouse=True)
def fast_password_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def seeded(seeded_demo):
    """The demo as ``seed_demo`` leaves it, with no MLGOV_DEMO_PASSWORD set (conftest.py)."""
    return seeded_demo


def test_it_creates_one_user_per_role(seeded):
    for role in roles.ALL_ROLES:
        assert User.objects.filter(groups__name=role).exists(), role
    admin = User.objects.get(username="admin")
    assert admin.is_staff and not admin.is_superuser
    assert not User.objects.filter(is_superuser=True).exists()
    for spec in DEMO_USERS:
        user = User.objects.get(username=spec.username)
        assert user.check_password(DEFAULT_DEMO_PASSWORD)
        assert user.is_staff == (spec.role == roles.ADMIN)


def test_it_creates_the_required_models(seeded):
    credit = RegisteredModel.objects.get(slug="retail-credit-scoring")
    assert credit.eu_ai_act_class == EUAIActClass.HIGH_RISK
    assert credit.eu_annex_iii_point == "5(b)"
    assert credit.risk_tier == 1
    assert credit.status == LifecycleStatus.PRODUCTION
    assert credit.versions.filter(stage=VersionStage.PRODUCTION).exists()
    assert RegisteredModel.objects.get(slug="failed-delivery-predictor").business_unit.name == (
        "Logistics"
    )
    assert RegisteredModel.objects.get(slug="payment-anomaly-prioritiser").business_unit.name == (
        "Finance Operations"
    )
    assert RegisteredModel.objects.get(slug="product-recommendations").business_unit.name == (
        "Software Product"
    )


def test_it_covers_statuses_tiers_classes_and_review_dates(seeded):
    models = RegisteredModel.objects.all()
    assert 10 <= models.count() <= 15
    assert {m.status for m in models} == set(LifecycleStatus.values)
    assert {m.risk_tier for m in models} == {None, 1, 2, 3}
    assert {
        EUAIActClass.HIGH_RISK,
        EUAIActClass.LIMITED,
        EUAIActClass.MINIMAL,
        EUAIActClass.UNASSESSED,
    } <= {m.eu_ai_act_class for m in models}
    assert models.values("business_unit").distinct().count() >= 4
    today = timezone.localdate()
    assert models.filter(next_review_date__lt=today).exists()
    assert models.filter(
        next_review_date__gte=today, next_review_date__lte=today + timedelta(days=30)
    ).exists()
    # Every status but a rejected proposal, which the demo does not stage.
    assert {a.status for a in RiskAssessment.objects.all()} == set(RiskAssessmentStatus.values) - {
        RiskAssessmentStatus.REJECTED
    }
    overridden = RiskAssessment.objects.get(status=RiskAssessmentStatus.OVERRIDDEN)
    assert overridden.decision_reason
    assert {v.stage for v in ModelVersion.objects.all()} == set(VersionStage.values)
    assert Dataset.objects.filter(contains_personal_data=True).exists()
    assert Dataset.objects.filter(contains_personal_data=False).exists()
    assert Deployment.objects.exists()
    assert ModelDependency.objects.count() >= 2


def test_it_writes_through_the_services_so_the_audit_trail_is_complete(seeded):
    assert audit_chain_verify().ok
    credit = RegisteredModel.objects.get(slug="retail-credit-scoring")
    actions = set(AuditEvent.objects.filter(model_ref=credit.pk).values_list("action", flat=True))
    assert {"create", "decide", "transition"} <= actions
    assert AuditEvent.objects.filter(object_type="accounts.user", action="create").count() == len(
        DEMO_USERS
    )
    assert AuditEvent.objects.exclude(request_id__startswith="seed-demo-").count() == 0


def test_a_second_run_neither_fails_nor_duplicates(seeded):
    before = _counts()
    call_command("seed_demo", stdout=io.StringIO())
    assert _counts() == before


def _requests(kind: str, subject, status: str | None = None):
    found = ApprovalRequest.objects.filter(
        kind=kind, subject_type=subject._meta.label_lower, subject_id=str(subject.pk)
    )
    return found.filter(status=status) if status else found


def test_sign_offs_went_through_the_approval_engine(seeded):
    approved_or_live = RegisteredModel.objects.filter(
        status__in=[LifecycleStatus.APPROVED, LifecycleStatus.PRODUCTION]
    )
    assert approved_or_live.count() >= 5
    for model in approved_or_live:
        validated = ApprovalRequest.objects.filter(
            model=model, kind=ApprovalKind.VALIDATION_SIGNOFF, status=RequestStatus.APPROVED
        )
        assert validated.exists(), model.slug
    for version in ModelVersion.objects.filter(stage=VersionStage.PRODUCTION):
        assert _requests(ApprovalKind.PROMOTION, version, RequestStatus.APPROVED).exists()
        if version.model.risk_tier in (1, 2):
            assert _requests(ApprovalKind.VALIDATION_SIGNOFF, version, RequestStatus.APPROVED)
    # Archived versions of live models were once promoted too.
    credit = RegisteredModel.objects.get(slug="retail-credit-scoring")
    old = credit.versions.get(version="2.3.0")
    assert _requests(ApprovalKind.PROMOTION, old, RequestStatus.APPROVED).exists()
    # Every signature is a validator's or the named business owner's, never the requester's.
    for decision in Decision.objects.select_related("request__model", "approver"):
        assert decision.approver != decision.request.requested_by
        if decision.slot == ApproverRole.BUSINESS_OWNER:
            assert decision.approver == decision.request.model.business_owner
        elif decision.request.kind == ApprovalKind.RISK_TIER_CHANGE:
            # The validator proposes tiers; the second validator approves them.
            assert decision.approver.username == "validator2"
        else:
            assert decision.approver.username == "validator"
        assert decision.content_sha256 == decision.request.content_sha256


def test_the_legacy_scorecard_was_retired_by_an_approved_request(seeded):
    legacy = RegisteredModel.objects.get(slug="legacy-credit-scorecard")
    [retirement] = _requests(ApprovalKind.RETIREMENT, legacy)
    assert retirement.status == RequestStatus.APPROVED
    assert retirement.justification.startswith("Replaced by Retail credit scoring 2.x")
    assert legacy.status == LifecycleStatus.RETIRED
    assert legacy.retirement_reason.startswith(retirement.justification)
    assert set(legacy.versions.values_list("stage", flat=True)) == {VersionStage.ARCHIVED}


def test_requests_wait_for_the_business_owners(seeded):
    pending = ApprovalRequest.objects.filter(status=RequestStatus.PENDING)
    waiting_for = {
        r.model.business_owner.username
        for r in pending
        if ApproverRole.BUSINESS_OWNER in r.required_slots
        and ApproverRole.BUSINESS_OWNER not in filled_slots(r)
    }
    assert {"business_owner", "business_owner2"} <= waiting_for

    credit = RegisteredModel.objects.get(slug="retail-credit-scoring")
    candidate = credit.versions.get(version="2.5.0-rc1")
    [promotion] = _requests(ApprovalKind.PROMOTION, candidate)
    assert promotion.status == RequestStatus.PENDING
    assert promotion.requested_by.username == "model_owner"
    # The validator has signed; only the business owner is missing.
    assert [(d.approver.username, d.verdict) for d in promotion.decisions.all()] == [
        ("validator", Verdict.APPROVE)
    ]
    assert _requests(ApprovalKind.VALIDATION_SIGNOFF, candidate, RequestStatus.APPROVED)
    assert candidate.stage == VersionStage.STAGING
    assert credit.versions.get(stage=VersionStage.PRODUCTION).version == "2.4.0"


def test_the_overdue_review_model_has_its_history_before_the_date(seeded):
    model = RegisteredModel.objects.get(slug="payment-anomaly-prioritiser")
    assert model.status == LifecycleStatus.PRODUCTION
    assert model.next_review_date < timezone.localdate()


def test_tier_decisions_are_proposed_by_one_validator_and_approved_by_another(seeded):
    validator = User.objects.get(username="validator")
    validator2 = User.objects.get(username="validator2")
    decided = RiskAssessment.objects.filter(
        status__in=[RiskAssessmentStatus.CONFIRMED, RiskAssessmentStatus.OVERRIDDEN]
    )
    assert decided.exists()
    assert {(a.decided_by, a.approved_by) for a in decided} == {(validator, validator2)}
    for model in RegisteredModel.objects.exclude(risk_tier=None):
        assert model.risk_assessed_by == validator
        assert "Approved by Priya Nair" in model.risk_tier_rationale
    # One reassessment waits in validator2's inbox; the model keeps its tier meanwhile.
    waiting = RiskAssessment.objects.get(status=RiskAssessmentStatus.AWAITING_APPROVAL)
    request = ApprovalRequest.objects.get(
        kind=ApprovalKind.RISK_TIER_CHANGE, subject_id=str(waiting.pk), status="pending"
    )
    assert request.requested_by == validator
    assert waiting.model.slug == "delivery-eta-forecaster"
    assert (waiting.model.risk_tier, waiting.decided_tier) == (3, 2)
    assert request in waiting_for(user=validator2)
    assert request not in waiting_for(user=validator)
