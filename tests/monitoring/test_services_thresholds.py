"""Threshold lifecycle through the services and the approval engine."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction

from apps.approvals.choices import RequestStatus, Verdict
from apps.audit.models import AuditEvent
from apps.core.errors import ApplicationError
from apps.monitoring import selectors, services
from apps.monitoring.choices import ThresholdStatus
from apps.monitoring.models import Threshold
from tests.factories import ModelVersionFactory
from tests.monitoring.conftest import sign

pytestmark = pytest.mark.django_db


def test_a_new_threshold_is_a_draft_and_audited(draft, owned_model):
    assert draft.status == ThresholdStatus.DRAFT
    assert draft.direction == "below"  # AUC: higher is better
    event = AuditEvent.objects.get(object_type="monitoring.threshold", object_id=str(draft.pk))
    assert event.action == "create" and event.model_ref == owned_model.pk
    assert list(selectors.active_thresholds(model=owned_model)) == []


def test_bounds_errors_name_the_field(owned_model, model_owner, auc, review_by):
    with pytest.raises(ApplicationError) as exc:
        services.threshold_create(
            actor=model_owner,
            model=owned_model,
            metric=auc,
            warning_bound=0.70,
            critical_bound=0.75,
            rationale="x",
            review_by=review_by,
        )
    assert "critical_bound" in exc.value.field_errors
    assert "must be below the warning bound" in exc.value.field_errors["critical_bound"][0]


def test_a_window_is_required_for_a_mean(owned_model, model_owner, auc, review_by):
    with pytest.raises(ApplicationError) as exc:
        services.threshold_create(
            actor=model_owner,
            model=owned_model,
            metric=auc,
            warning_bound=0.75,
            critical_bound=0.7,
            evaluation="mean",
            rationale="x",
            review_by=review_by,
        )
    assert list(exc.value.field_errors) == ["window_days"]


def test_it_refuses_a_past_review_date(owned_model, model_owner, auc):
    with pytest.raises(ApplicationError) as exc:
        services.threshold_create(
            actor=model_owner,
            model=owned_model,
            metric=auc,
            warning_bound=0.75,
            critical_bound=0.7,
            rationale="x",
            review_by=datetime.date(2020, 1, 1),
        )
    assert "review_by" in exc.value.field_errors


def test_it_refuses_a_version_of_another_model(owned_model, foreign_model, model_owner, auc):
    other = ModelVersionFactory(model=foreign_model)
    with pytest.raises(ApplicationError) as exc:
        services.threshold_create(
            actor=model_owner,
            model=owned_model,
            metric=auc,
            version=other,
            warning_bound=0.75,
            critical_bound=0.7,
            rationale="x",
            review_by=datetime.date.today() + datetime.timedelta(days=5),
        )
    assert "version" in exc.value.field_errors


@pytest.mark.parametrize("who", ["business_owner", "auditor", "viewer", "other_model_owner"])
def test_only_owners_validators_and_admins_draft(who, request, owned_model, auc, review_by):
    actor = request.getfixturevalue(who)
    with pytest.raises(PermissionDenied):
        services.threshold_create(
            actor=actor,
            model=owned_model,
            metric=auc,
            warning_bound=0.75,
            critical_bound=0.7,
            rationale="x",
            review_by=review_by,
        )


def test_a_draft_is_edited_and_the_change_audited(draft, model_owner):
    services.threshold_update(actor=model_owner, threshold=draft, warning_bound=0.8)
    draft.refresh_from_db()
    assert draft.warning_bound == 0.8
    event = AuditEvent.objects.filter(object_id=str(draft.pk), action="update").get()
    assert event.changes["warning_bound"] == {"before": 0.75, "after": 0.8}


def test_it_refuses_unknown_fields(draft, model_owner):
    with pytest.raises(ApplicationError) as exc:
        services.threshold_update(actor=model_owner, threshold=draft, status="active")
    assert "status" in exc.value.field_errors


def test_submitting_asks_the_engine_for_sign_off(draft, model_owner, business_owner):
    threshold = services.threshold_submit(actor=model_owner, threshold=draft)
    assert threshold.status == ThresholdStatus.PENDING_SIGNOFF
    request = threshold.signoff_request
    assert request.kind == "threshold_signoff" and request.status == RequestStatus.PENDING
    assert request.content["warning_bound"] == 0.75
    assert request.content["critical_bound"] == 0.7
    assert request.content["metric"] == "auc"
    assert request.required_slots == ["business_owner", "validator"]  # unassessed = Tier 1


def test_signing_off_activates_only_when_the_quorum_is_met(
    draft, model_owner, business_owner, validator, owned_model
):
    threshold = services.threshold_submit(actor=model_owner, threshold=draft)
    sign(threshold.signoff_request, business_owner)
    threshold.refresh_from_db()
    assert threshold.status == ThresholdStatus.PENDING_SIGNOFF
    sign(threshold.signoff_request, validator)
    threshold.refresh_from_db()
    assert threshold.status == ThresholdStatus.ACTIVE and threshold.activated_at
    assert list(selectors.active_thresholds(model=owned_model)) == [threshold]


def test_the_model_owner_cannot_sign_their_own_threshold(draft, model_owner):
    threshold = services.threshold_submit(actor=model_owner, threshold=draft)
    with pytest.raises((ApplicationError, PermissionDenied)):
        sign(threshold.signoff_request, model_owner)


def test_an_active_threshold_is_never_edited(draft, activate, model_owner):
    active = activate(draft)
    with pytest.raises(ApplicationError) as exc:
        services.threshold_update(actor=model_owner, threshold=active, warning_bound=0.9)
    assert "revise it" in exc.value.message


def test_a_revision_keeps_the_active_one_applying_until_signed(
    draft, activate, model_owner, business_owner, validator, owned_model
):
    active = activate(draft)
    revision = services.threshold_revise(actor=model_owner, threshold=active)
    assert revision.status == ThresholdStatus.DRAFT and revision.supersedes == active
    services.threshold_update(
        actor=model_owner, threshold=revision, warning_bound=0.8, critical_bound=0.72
    )
    revision = services.threshold_submit(actor=model_owner, threshold=revision)
    rows = {r["label"]: r for r in revision.signoff_request and _compare(revision)}
    assert "warning 0.75" in rows["Bounds"]["current"]
    assert "warning 0.8" in rows["Bounds"]["proposed"]
    sign(revision.signoff_request, business_owner)
    assert list(selectors.active_thresholds(model=owned_model)) == [active]
    sign(revision.signoff_request, validator)
    active.refresh_from_db()
    revision.refresh_from_db()
    assert active.status == ThresholdStatus.SUPERSEDED and active.ended_at
    assert revision.status == ThresholdStatus.ACTIVE
    assert list(selectors.active_thresholds(model=owned_model)) == [revision]
    superseded = AuditEvent.objects.get(
        object_id=str(active.pk), action="transition", changes__status__after="superseded"
    )
    assert f"#{revision.pk}" in superseded.message


def _compare(threshold):
    from apps.approvals.registry import handler_for

    return handler_for("threshold_signoff").compare(threshold)


def test_only_one_open_revision_at_a_time(draft, activate, model_owner):
    active = activate(draft)
    services.threshold_revise(actor=model_owner, threshold=active)
    with pytest.raises(ApplicationError, match="already draft"):
        services.threshold_revise(actor=model_owner, threshold=active)


def test_a_draft_is_not_revised(draft, model_owner):
    with pytest.raises(ApplicationError, match="Only an active or expired"):
        services.threshold_revise(actor=model_owner, threshold=draft)


def test_editing_a_pending_threshold_returns_it_to_draft_and_the_request_goes_stale(
    draft, model_owner
):
    pending = services.threshold_submit(actor=model_owner, threshold=draft)
    request = pending.signoff_request
    edited = services.threshold_update(actor=model_owner, threshold=pending, warning_bound=0.8)
    assert edited.status == ThresholdStatus.DRAFT
    request.refresh_from_db()
    assert request.status == RequestStatus.STALE
    again = services.threshold_submit(actor=model_owner, threshold=edited)
    assert again.signoff_request != request
    assert again.signoff_request.content["warning_bound"] == 0.8


def test_a_pending_threshold_is_not_submitted_twice(draft, model_owner):
    pending = services.threshold_submit(actor=model_owner, threshold=draft)
    with pytest.raises(ApplicationError):
        services.threshold_submit(actor=model_owner, threshold=pending)


def test_a_rejection_ends_the_threshold(draft, model_owner, business_owner):
    pending = services.threshold_submit(actor=model_owner, threshold=draft)
    sign(pending.signoff_request, business_owner, verdict=Verdict.REJECT, comment="Too loose.")
    pending.refresh_from_db()
    assert pending.status == ThresholdStatus.REJECTED and pending.ended_at


def test_requested_changes_return_it_to_draft(draft, model_owner, business_owner):
    pending = services.threshold_submit(actor=model_owner, threshold=draft)
    sign(
        pending.signoff_request,
        business_owner,
        verdict=Verdict.REQUEST_CHANGES,
        comment="Explain the window.",
    )
    pending.refresh_from_db()
    assert pending.status == ThresholdStatus.DRAFT
    services.threshold_update(actor=model_owner, threshold=pending, rationale="Now explained.")
    assert services.threshold_submit(actor=model_owner, threshold=pending).status == (
        ThresholdStatus.PENDING_SIGNOFF
    )


def test_the_database_holds_one_active_threshold_per_scope(draft, activate, owned_model, auc):
    activate(draft)
    twin = Threshold.objects.get(pk=draft.pk)
    twin.pk = None
    twin.status = ThresholdStatus.ACTIVE
    with pytest.raises(IntegrityError), transaction.atomic():
        twin.save()


def test_two_drafts_for_one_scope_the_last_signed_wins(
    draft, activate, owned_model, model_owner, auc, review_by
):
    first = activate(draft)
    second = services.threshold_create(
        actor=model_owner,
        model=owned_model,
        metric=auc,
        warning_bound=0.78,
        critical_bound=0.71,
        rationale="Separate proposal.",
        review_by=review_by,
    )
    second = activate(second)
    first.refresh_from_db()
    assert first.status == ThresholdStatus.SUPERSEDED
    assert second.status == ThresholdStatus.ACTIVE


def test_a_version_scoped_threshold_does_not_clash_with_the_model_wide_one(
    draft, activate, owned_model, model_owner, auc, review_by
):
    activate(draft)
    version = ModelVersionFactory(model=owned_model)
    scoped = services.threshold_create(
        actor=model_owner,
        model=owned_model,
        metric=auc,
        version=version,
        warning_bound=0.78,
        critical_bound=0.71,
        rationale="This version is better.",
        review_by=review_by,
    )
    activate(scoped)
    assert selectors.active_thresholds(model=owned_model).count() == 2


def test_expiry_marks_active_thresholds_past_review_by(draft, activate, owned_model, review_by):
    active = activate(draft)
    assert services.threshold_expire_due(today=review_by) == []
    assert services.threshold_expire_due(today=review_by + datetime.timedelta(days=1)) == [
        active.pk
    ]
    active.refresh_from_db()
    assert active.status == ThresholdStatus.EXPIRED
    assert list(selectors.active_thresholds(model=owned_model)) == []
    event = AuditEvent.objects.get(object_id=str(active.pk), changes__status__after="expired")
    assert event.actor is None and event.actor_username == "system"
    assert services.threshold_expire_due(today=review_by + datetime.timedelta(days=1)) == []


def test_an_expired_threshold_is_flagged_until_renewed(
    draft, activate, owned_model, model_owner, review_by, admin_user
):
    active = activate(draft)
    services.threshold_expire_due(today=review_by + datetime.timedelta(days=1))
    assert selectors.expired_threshold_counts(user=admin_user) == {owned_model.pk: 1}
    flagged = list(selectors.models_with_expired_thresholds(user=admin_user))
    assert flagged == [owned_model] and flagged[0].expired_thresholds == 1
    revision = services.threshold_revise(actor=model_owner, threshold=active)
    services.threshold_update(
        actor=model_owner,
        threshold=revision,
        review_by=review_by + datetime.timedelta(days=200),
    )
    renewed = activate(revision)
    assert renewed.status == ThresholdStatus.ACTIVE
    active.refresh_from_db()
    assert active.status == ThresholdStatus.SUPERSEDED
    assert selectors.expired_threshold_counts(user=admin_user) == {}


def test_an_activation_failure_leaves_everything_as_it_was(
    draft, activate, model_owner, business_owner, validator, monkeypatch
):
    active = activate(draft)
    revision = services.threshold_revise(actor=model_owner, threshold=active)
    revision = services.threshold_submit(actor=model_owner, threshold=revision)
    sign(revision.signoff_request, business_owner)

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(services, "_set_status", _fail_on_activate(services._set_status, boom))
    with pytest.raises(RuntimeError):
        sign(revision.signoff_request, validator)
    active.refresh_from_db()
    revision.refresh_from_db()
    assert active.status == ThresholdStatus.ACTIVE
    assert revision.status == ThresholdStatus.PENDING_SIGNOFF
    assert revision.signoff_request.status == RequestStatus.PENDING


def _fail_on_activate(original, boom):
    def wrapper(threshold, *, status, **kwargs):
        if status == ThresholdStatus.ACTIVE:
            boom()
        return original(threshold, status=status, **kwargs)

    return wrapper
