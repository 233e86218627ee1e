"""Findings: validators record them, owners remediate, risk acceptance needs an approval."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from apps.approvals.choices import RequestStatus
from apps.approvals.services import approval_decide
from apps.core.errors import ApplicationError
from apps.reviews import selectors, services
from apps.reviews.choices import FindingStatus

pytestmark = pytest.mark.django_db
PASSWORD = "correct-horse-battery"


@pytest.fixture
def finding(validator, tier2_model, model_owner):
    return services.finding_create(
        actor=validator,
        model=tier2_model,
        title="Calibration drift",
        severity="high",
        description="Scores over-predict in the top decile.",
        owner=model_owner,
        due_date=timezone.localdate() + dt.timedelta(days=30),
    )


def test_model_owners_cannot_record_findings(model_owner, tier2_model):
    with pytest.raises(PermissionDenied):
        services.finding_create(
            actor=model_owner,
            model=tier2_model,
            title="x",
            severity="low",
            description="x",
            owner=model_owner,
            due_date=timezone.localdate(),
        )


def test_the_owner_adds_evidence_and_marks_it_remediated(finding, model_owner):
    with pytest.raises(ApplicationError) as exc:
        services.finding_set_status(actor=model_owner, finding=finding, status="remediated")
    assert "evidence" in exc.value.field_errors
    services.finding_update(
        actor=model_owner, finding=finding, evidence="Recalibrated.", evidence_links="https://x/1"
    )
    finding = services.finding_set_status(actor=model_owner, finding=finding, status="remediated")
    assert finding.status == FindingStatus.REMEDIATED


def test_the_owner_cannot_change_severity_or_close(finding, model_owner):
    with pytest.raises(ApplicationError):
        services.finding_update(actor=model_owner, finding=finding, severity="low")
    with pytest.raises(ApplicationError):
        services.finding_set_status(actor=model_owner, finding=finding, status="closed")


def test_auditors_change_nothing(finding, auditor):
    with pytest.raises(PermissionDenied):
        services.finding_update(actor=auditor, finding=finding, evidence="x")


def test_risk_acceptance_is_not_a_direct_status_change(finding, validator):
    with pytest.raises(ApplicationError):
        services.finding_set_status(actor=validator, finding=finding, status="risk_accepted")


def test_risk_acceptance_needs_a_reason_and_both_approvers(
    finding, model_owner, business_owner, validator
):
    with pytest.raises(ApplicationError):
        services.finding_request_risk_acceptance(
            actor=model_owner, finding=finding, justification=" "
        )
    request = services.finding_request_risk_acceptance(
        actor=model_owner, finding=finding, justification="Model retires next quarter."
    )
    approval_decide(actor=business_owner, request=request, verdict="approve", password=PASSWORD)
    finding.refresh_from_db()
    assert finding.status == FindingStatus.OPEN
    approval_decide(actor=validator, request=request, verdict="approve", password=PASSWORD)
    finding.refresh_from_db()
    assert finding.status == FindingStatus.RISK_ACCEPTED


def test_editing_the_finding_makes_a_pending_acceptance_stale(finding, model_owner, validator):
    request = services.finding_request_risk_acceptance(
        actor=model_owner, finding=finding, justification="Low impact."
    )
    services.finding_update(actor=validator, finding=finding, severity="critical")
    request.refresh_from_db()
    assert request.status == RequestStatus.STALE


def test_overdue_findings_are_counted_for_the_model_and_dashboard(
    finding, validator, tier2_model, django_assert_max_num_queries
):
    today = timezone.localdate()
    assert selectors.overdue_finding_count(user=validator, model=tier2_model) == 0
    later = today + dt.timedelta(days=31)
    with django_assert_max_num_queries(2):
        assert selectors.overdue_finding_count(user=validator, today=later) == 1
