"""Reviews: who opens them, submission for attestation, attestation schedules the next one."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from apps.approvals.choices import ApprovalKind, RequestStatus
from apps.approvals.services import approval_decide
from apps.audit.models import AuditEvent
from apps.core.errors import ApplicationError
from apps.reviews import services
from apps.reviews.choices import ReviewOutcome, ReviewStatus
from apps.reviews.models import ReviewCadence

pytestmark = pytest.mark.django_db
PASSWORD = "correct-horse-battery"


def _submitted(actor, model):
    review = services.review_create(actor=actor, model=model, scope="Annual performance review")
    services.review_update(
        actor=actor, review=review, outcome=ReviewOutcome.SATISFACTORY, notes="All good."
    )
    request = services.review_submit(actor=actor, review=review)
    return review, request


def test_default_cadences_come_from_the_data_migration():
    assert dict(ReviewCadence.objects.values_list("tier", "months")) == {1: 12, 2: 24, 3: 36}


@pytest.mark.parametrize("persona", ["model_owner", "business_owner", "auditor", "viewer"])
def test_only_validators_and_admins_open_reviews(request, persona, tier2_model):
    with pytest.raises(PermissionDenied):
        services.review_create(actor=request.getfixturevalue(persona), model=tier2_model, scope="x")


def test_it_needs_outcome_and_notes_before_submitting(validator, tier2_model):
    review = services.review_create(actor=validator, model=tier2_model, scope="Scope")
    with pytest.raises(ApplicationError) as exc:
        services.review_submit(actor=validator, review=review)
    assert "outcome" in exc.value.field_errors


def test_attestation_by_another_validator_sets_the_next_review_date(
    validator, validator2, tier2_model
):
    review, request = _submitted(validator, tier2_model)
    assert request.kind == ApprovalKind.REVIEW_ATTESTATION
    assert request.content["outcome"] == "satisfactory"
    review.refresh_from_db()
    assert review.status == ReviewStatus.SUBMITTED
    with pytest.raises(ApplicationError):
        services.review_update(actor=validator, review=review, notes="changed")
    approval_decide(actor=validator2, request=request, verdict="approve", password=PASSWORD)
    review.refresh_from_db()
    tier2_model.refresh_from_db()
    assert review.status == ReviewStatus.ATTESTED
    today = timezone.localdate()
    assert tier2_model.next_review_date == dt.date(today.year + 2, today.month, today.day)
    assert AuditEvent.objects.filter(
        object_type="inventory.registeredmodel", changes__has_key="next_review_date"
    ).exists()


def test_the_reviewer_cannot_attest_their_own_review(validator, tier2_model):
    _, request = _submitted(validator, tier2_model)
    with pytest.raises(ApplicationError):
        approval_decide(actor=validator, request=request, verdict="approve", password=PASSWORD)


def test_a_refused_attestation_returns_the_review_for_changes(validator, validator2, tier2_model):
    review, request = _submitted(validator, tier2_model)
    approval_decide(
        actor=validator2,
        request=request,
        verdict="request_changes",
        password=PASSWORD,
        comment="Scope misses drift.",
    )
    review.refresh_from_db()
    assert review.status == ReviewStatus.REJECTED
    services.review_update(actor=validator, review=review, scope="Annual review incl. drift")
    second = services.review_submit(actor=validator, review=review)
    assert second.status == RequestStatus.PENDING


def test_changing_a_cadence_is_admin_only_and_audited(admin_user, validator):
    cadence = ReviewCadence.objects.get(tier=1)
    with pytest.raises(PermissionDenied):
        services.review_cadence_update(actor=validator, cadence=cadence, months=6)
    services.review_cadence_update(actor=admin_user, cadence=cadence, months=6)
    assert services.cadence_months(1) == 6
    assert AuditEvent.objects.filter(object_type="reviews.reviewcadence").count() == 1
