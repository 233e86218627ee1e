"""manage.py generate_scale_data: a bank-sized inventory, at a tiny size here.

One run is made for the module (rolled back after it) and read by most tests; the
repeatability test makes two more runs of its own, each rolled back.
"""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count

from apps.accounts.models import User
from apps.approvals import selectors as approval_selectors
from apps.approvals.choices import RequestStatus
from apps.approvals.models import ApprovalRequest, Decision
from apps.audit.models import AuditEvent
from apps.audit.selectors import audit_chain_verify
from apps.demo.scale import HEAVY_SLUG, DatabaseNotEmpty, ScaleOptions, generate
from apps.incidents.choices import IncidentStatus
from apps.incidents.models import Incident
from apps.inventory import accountability
from apps.inventory.choices import LifecycleStatus, VersionStage
from apps.inventory.models import BusinessUnit, ModelVersion, RegisteredModel
from apps.monitoring.choices import ThresholdStatus
from apps.monitoring.models import Breach, IngestionBatch, Observation, Threshold
from apps.reviews.choices import FindingStatus, ReviewStatus
from apps.reviews.models import Finding, Review
from tests.demo.scale_helpers import FAST_HASH, quiet
from tests.shared_rows import shared_rows

pytestmark = pytest.mark.django_db

TINY = ScaleOptions(
    models=150, observations=6000, heavy_observations=2000, audit_events=12_000, seed=4
)


@pytest.fixture(scope="module")
def run(django_db_setup, django_db_blocker):
    with shared_rows(
        django_db_blocker, lambda: generate(TINY, report=quiet), **FAST_HASH
    ) as result:
        yield result


def test_counts(run):
    assert RegisteredModel.objects.count() == TINY.models
    assert Observation.objects.count() == TINY.observations
    assert AuditEvent.objects.count() == TINY.audit_events
    assert run.counts["inventory.RegisteredModel"] == TINY.models
    assert run.counts["audit.AuditEvent"] == TINY.audit_events
    assert run.heavy_slug == HEAVY_SLUG
    per_model = set(
        RegisteredModel.objects.annotate(n=Count("versions")).values_list("n", flat=True)
    )
    assert per_model <= {2, 3}
    assert 20 <= BusinessUnit.objects.count() <= 40
    assert User.objects.count() >= 30


def test_heavy_model_holds_its_observations_and_breaches(run):
    heavy = RegisteredModel.objects.get(slug=HEAVY_SLUG)
    assert heavy.risk_tier == 1 and heavy.status == LifecycleStatus.PRODUCTION
    assert Observation.objects.filter(version__model=heavy).count() == TINY.heavy_observations
    assert Threshold.objects.filter(model=heavy, status=ThresholdStatus.ACTIVE).count() >= 3
    assert Breach.objects.filter(threshold__model=heavy).exists()
    assert IngestionBatch.objects.filter(scope_model__isnull=True).count() == 12
    assert (
        not IngestionBatch.objects.exclude(rows_loaded=0).filter(observations__isnull=True).exists()
    )


def test_the_chain_verifies(run):
    result = audit_chain_verify()
    assert result.ok, result.reason
    assert result.count == TINY.audit_events
    out = io.StringIO()
    call_command("verify_audit_log", stdout=out, stderr=io.StringIO())
    assert "Audit chain OK" in out.getvalue()


def test_named_demo_owners_on_some_models_not_all(run):
    owned = RegisteredModel.objects.filter(owner__username="model_owner").count()
    business = RegisteredModel.objects.filter(business_owner__username="business_owner").count()
    assert 0 < owned < TINY.models // 4
    assert 0 < business < TINY.models // 4


def test_every_model_names_people_who_fit_their_seats(run):
    """The generator writes rows directly, not through the services: it keeps their rules."""
    people = {user.pk: user for user in User.objects.all()}
    models = RegisteredModel.objects.prefetch_related("developers")
    for model in models:
        for field, seat in accountability.SINGLE_SEATS.items():
            person = people.get(getattr(model, f"{field}_id"))
            assert accountability.seat_refusal(seat, person) is None, (model.slug, field)
        developers = [people[user.pk] for user in model.developers.all()]
        assert accountability.developers_refusal(developers) is None, model.slug
        named = accountability.Named(
            owner=model.owner_id,
            business_owner=model.business_owner_id,
            validator=model.validator_id,
            developers=frozenset(user.pk for user in developers),
        )
        assert not accountability.independence_refusals(
            named, changed=accountability.SEAT_FIELDS
        ), model.slug


def test_requests_wait_for_validator_and_none_is_stale(run):
    validator = User.objects.get(username="validator")
    assert approval_selectors.waiting_count(user=validator) >= 10
    pending = ApprovalRequest.objects.filter(status=RequestStatus.PENDING).select_related("model")
    assert pending.exists()
    assert not [r.pk for r in pending if approval_selectors.is_stale(r)]
    assert Decision.objects.filter(request__status=RequestStatus.APPROVED).exists()


def test_every_state_is_present(run):
    def values(model, field):
        return set(model.objects.values_list(field, flat=True))

    assert values(ApprovalRequest, "status") >= {
        RequestStatus.PENDING,
        RequestStatus.APPROVED,
        RequestStatus.REJECTED,
        RequestStatus.WITHDRAWN,
        RequestStatus.STALE,
        RequestStatus.CHANGES_REQUESTED,
    }
    assert values(Incident, "status") == set(IncidentStatus.values)
    assert values(ModelVersion, "stage") == set(VersionStage.values)
    assert values(RegisteredModel, "status") == set(LifecycleStatus.values)
    assert values(RegisteredModel, "risk_tier") == {None, 1, 2, 3}
    assert values(Threshold, "status") >= {
        ThresholdStatus.ACTIVE,
        ThresholdStatus.PENDING_SIGNOFF,
        ThresholdStatus.SUPERSEDED,
    }
    assert values(Review, "status") >= {ReviewStatus.ATTESTED, ReviewStatus.OPEN}
    assert values(Finding, "status") >= {FindingStatus.OPEN, FindingStatus.CLOSED}


def test_rows_end_where_their_history_ends(run):
    """The everyday edits leave each model on the description its last event names."""
    edited = (
        AuditEvent.objects.filter(
            object_type="inventory.registeredmodel", changes__has_key="description"
        )
        .order_by("-sequence")
        .values_list("object_id", "changes")
    )
    seen = {}
    for object_id, changes in edited:
        seen.setdefault(int(object_id), changes["description"]["after"])
    assert seen
    for pk, description in list(seen.items())[:50]:
        assert RegisteredModel.objects.get(pk=pk).description == description


def test_refuses_a_database_that_holds_models(run):
    with pytest.raises(DatabaseNotEmpty, match="already holds"):
        generate(TINY, report=quiet)
    with pytest.raises(CommandError, match="empty, migrated database"):
        call_command("generate_scale_data", "--models", "20", stdout=io.StringIO())
    assert RegisteredModel.objects.count() == TINY.models
