"""Rows as they stood at a past time, rebuilt from the audit trail (apps.reports.history)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.approvals.choices import RequestStatus
from apps.approvals.models import ApprovalRequest
from apps.audit.chain import GENESIS_HASH
from apps.audit.models import AuditChainHead, AuditEvent
from apps.incidents import services as incidents
from apps.incidents.models import Incident
from apps.inventory import services as inventory
from apps.inventory.models import ModelDependency, ModelVersion, RegisteredModel
from apps.monitoring import services as monitoring
from apps.monitoring.models import Threshold
from apps.reports.history import audit_head_at, records_as_of, rows_as_of
from tests.approvals.helpers import sign
from tests.factories import RegisteredModelFactory
from tests.reports.conftest import activate

pytestmark = pytest.mark.django_db


def _model_rows(model, as_of, fields=("purpose", "owner", "developers", "next_review_date")):
    return rows_as_of(RegisteredModel.objects.filter(pk=model.pk), as_of=as_of, fields=fields)


def test_it_returns_todays_values_without_a_time(world):
    [row] = _model_rows(world.model, None)

    assert row == {
        "pk": world.model.pk,
        "purpose": world.model.purpose,
        "owner_id": world.cast.owner.pk,
        "developers": [world.cast.developer.pk],
        "next_review_date": None,
    }


def test_it_undoes_the_changes_made_after_the_time(world, clock):
    t1 = timezone.now()
    clock.advance(days=1)
    inventory.registered_model_update(
        actor=world.cast.owner,
        model=world.model,
        purpose="Approve small loans automatically.",
        developers=[world.cast.developer, world.cast.owner],
    )
    clock.advance(days=1)
    t2 = timezone.now()
    inventory.model_set_next_review(
        actor=None, model=world.model, next_review_date=dt.date(2027, 1, 31)
    )

    [at_t1] = _model_rows(world.model, t1)
    [at_t2] = _model_rows(world.model, t2)
    [now] = _model_rows(world.model, timezone.now())

    assert at_t1["purpose"] == "Rank applications by default risk for the underwriters."
    assert at_t1["developers"] == [world.cast.developer.pk]
    assert at_t2["purpose"] == "Approve small loans automatically."
    assert at_t2["developers"] == sorted([world.cast.developer.pk, world.cast.owner.pk])
    assert at_t2["next_review_date"] is None
    assert now["next_review_date"] == dt.date(2027, 1, 31)


def test_it_turns_audit_values_back_into_python_values(world, clock):
    threshold = world.auc_threshold
    activated = Threshold.objects.get(pk=threshold.pk).activated_at
    t1 = timezone.now()
    clock.advance(days=1)
    revision = monitoring.threshold_revise(actor=world.cast.owner, threshold=threshold)
    monitoring.threshold_update(
        actor=world.cast.owner, threshold=revision, warning_bound=0.8, critical_bound=0.72
    )
    activate(world, revision)

    [old] = rows_as_of(
        Threshold.objects.filter(pk=threshold.pk),
        as_of=t1,
        fields=("status", "activated_at", "ended_at", "review_by", "warning_bound"),
    )
    [today] = rows_as_of(
        Threshold.objects.filter(pk=threshold.pk), as_of=None, fields=("status", "ended_at")
    )

    assert today["status"] == "superseded"
    assert today["ended_at"] is not None
    assert old["status"] == "active"
    assert old["ended_at"] is None
    assert isinstance(old["review_by"], dt.date)
    assert old["warning_bound"] == 0.75
    # Audit values keep milliseconds (JSON); the time is the same to the millisecond.
    assert abs(old["activated_at"] - activated) < dt.timedelta(milliseconds=1)
    assert old["activated_at"].tzinfo is not None


def test_it_leaves_out_rows_created_after_the_time(world, clock):
    t1 = timezone.now()
    clock.advance(days=1)
    newer = inventory.registered_model_create(
        actor=world.cast.owner,
        slug="later-model",
        name="Later model",
        purpose="Registered after the time.",
        business_unit=world.model.business_unit,
        business_owner=world.cast.business_owner,
    )
    made_directly = RegisteredModelFactory(slug="made-directly")  # no create event

    rows = rows_as_of(
        RegisteredModel.objects.filter(pk__in=[world.model.pk, newer.pk, made_directly.pk]),
        as_of=t1,
        fields=("slug",),
    )

    assert [row["slug"] for row in rows] == ["credit-scoring"]


def test_it_restores_rows_deleted_after_the_time(world, clock):
    dependency_pk = world.dependency.pk
    t1 = timezone.now()
    clock.advance(days=1)
    inventory.model_dependency_delete(actor=world.cast.admin, dependency=world.dependency)
    assert not ModelDependency.objects.filter(pk=dependency_pk).exists()

    queryset = ModelDependency.objects.filter(downstream=world.model)
    fields = ("upstream", "downstream", "kind")
    restored = rows_as_of(queryset, as_of=t1, fields=fields, model_ref=world.model.pk)
    later = rows_as_of(queryset, as_of=timezone.now(), fields=fields, model_ref=world.model.pk)

    # The delete event names the models by slug; they come back as ids.
    assert restored == [
        {
            "pk": dependency_pk,
            "upstream_id": world.upstream.pk,
            "downstream_id": world.model.pk,
            "kind": "feeds",
        }
    ]
    assert later == []


def test_a_deleted_row_comes_back_only_under_its_model(world, clock, cast):
    other = inventory.registered_model_create(
        actor=cast.owner,
        slug="short-lived",
        name="Short-lived model",
        purpose="Registered by mistake.",
        business_unit=world.model.business_unit,
        business_owner=cast.business_owner,
    )
    other_pk = other.pk
    t1 = timezone.now()
    clock.advance(days=1)
    inventory.registered_model_delete(actor=cast.admin, model=other)

    everything = rows_as_of(RegisteredModel.objects.all(), as_of=t1, fields=("slug", "purpose"))
    scoped = rows_as_of(
        RegisteredModel.objects.filter(pk=world.model.pk),
        as_of=t1,
        fields=("slug",),
        model_ref=world.model.pk,
    )

    assert {"pk": other_pk, "slug": "short-lived", "purpose": "Registered by mistake."} in (
        everything
    )
    assert [row["pk"] for row in scoped] == [world.model.pk]


def test_a_moment_not_recorded_by_its_transition_is_empty_before_it(world, clock):
    request = world.v2_validation
    t1 = timezone.now()
    clock.advance(days=1)
    sign(request, world.cast.validator)
    request.refresh_from_db()
    assert (request.status, request.closed_at is not None) == (RequestStatus.APPROVED, True)

    [row] = rows_as_of(
        ApprovalRequest.objects.filter(pk=request.pk),
        as_of=t1,
        fields=("status", "closed_at", "content_sha256"),
    )

    # The "decide" event records the signature, not a change of the request's hash.
    assert row == {
        "pk": request.pk,
        "status": "pending",
        "closed_at": None,
        "content_sha256": request.content_sha256,
    }


def test_records_keep_their_events_and_when_they_were_made(world, clock):
    t1 = timezone.now()
    clock.advance(days=1)
    incidents.incident_update(
        actor=world.cast.owner, incident=world.incident, root_cause="Rate change."
    )

    [record] = records_as_of(
        Incident.objects.filter(pk=world.incident.pk), as_of=t1, fields=("root_cause",)
    )

    assert record.values == {"root_cause": ""}
    assert (
        record.born
        == AuditEvent.objects.get(object_type="incidents.incident", action="create").occurred_at
    )
    assert [e.action for e in record.events] == ["create", "update"]
    event, value = record.recorded("root_cause", timezone.now())
    assert (event.action, value) == ("update", "Rate change.")


def test_it_reads_the_same_number_of_queries_for_one_row_or_many(world, clock):
    t1 = timezone.now()
    clock.advance(days=1)
    for version in ModelVersion.objects.filter(approved_at__isnull=True):
        inventory.model_version_update(actor=world.cast.owner, version=version, description="New")

    def count(queryset) -> int:
        with CaptureQueriesContext(connection) as ctx:
            rows_as_of(queryset, as_of=t1, fields=("version", "description", "approved_by"))
        return len(ctx.captured_queries)

    one = count(ModelVersion.objects.filter(pk=world.v1.pk))
    many = count(ModelVersion.objects.all())
    assert ModelVersion.objects.count() > 1
    assert one == many == 2


def test_the_chain_head_at_a_time_is_the_last_event_then(world, clock):
    t1 = timezone.now()
    head_then = AuditEvent.objects.filter(occurred_at__lte=t1).order_by("-sequence").first()
    clock.advance(days=1)
    inventory.registered_model_update(actor=world.cast.owner, model=world.model, vendor="Acme")

    assert audit_head_at(t1) == {"sequence": head_then.sequence, "hash": head_then.hash}
    current = AuditChainHead.objects.get(pk=1)
    assert audit_head_at(None) == {"sequence": current.sequence, "hash": current.hash}
    assert current.sequence == head_then.sequence + 1
    before_anything = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    assert audit_head_at(before_anything) == {"sequence": 0, "hash": GENESIS_HASH}


def test_the_chain_head_at_a_time_is_the_latest_of_events_made_in_the_same_instant(
    world, monkeypatch
):
    instant = dt.datetime(2026, 6, 1, 9, 0, tzinfo=dt.UTC)
    monkeypatch.setattr(timezone, "now", lambda: instant)
    for vendor in ("Acme", "Initech", "Globex"):
        inventory.registered_model_update(actor=world.cast.owner, model=world.model, vendor=vendor)
    last = AuditEvent.objects.order_by("-sequence").first()
    monkeypatch.setattr(timezone, "now", lambda: instant + dt.timedelta(days=1))
    inventory.registered_model_update(actor=world.cast.owner, model=world.model, vendor="Later")

    assert AuditEvent.objects.filter(occurred_at=instant).count() == 3
    assert audit_head_at(instant) == {"sequence": last.sequence, "hash": last.hash}
