"""Findings mlgov's own checks raise (an integration seeing an approved artifact change):
recorded as the integration's service user, owned by the model's validator, audited."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.reviews import services

pytestmark = pytest.mark.django_db


def _raise(actor, model):
    return services.finding_raise_for_integrity(
        actor=actor,
        model=model,
        title="Artifact of approved version 1 changed in MLflow",
        description="The files digest to something else now.",
        severity="high",
    )


def test_the_models_validator_owns_it_and_it_is_due_in_two_weeks(tier2_model, model_owner):
    finding = _raise(model_owner, tier2_model)
    assert finding.owner == tier2_model.validator and finding.created_by == model_owner
    assert finding.due_date == timezone.localdate() + dt.timedelta(
        days=services.INTEGRITY_FINDING_DAYS
    )
    event = AuditEvent.objects.get(object_type="reviews.finding", object_id=str(finding.pk))
    assert event.message == "Raised by an integrity check."


def test_without_a_validator_the_models_owner_owns_it(owned_model, model_owner):
    assert _raise(model_owner, owned_model).owner == model_owner


def test_someone_who_does_not_see_the_model_cannot_raise_one(owned_model, other_model_owner):
    with pytest.raises(PermissionDenied):
        _raise(other_model_owner, owned_model)
