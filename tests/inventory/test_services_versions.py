"""Version services: registration, duplicates, immutability once approved, production stage."""

from __future__ import annotations

import hashlib

import pytest
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction

from apps.approvals.choices import ApprovalKind
from apps.audit.models import AuditEvent
from apps.core import context
from apps.core.errors import ApplicationError
from apps.inventory import services
from apps.inventory.choices import EUAIActClass, LifecycleStatus, VersionStage
from apps.inventory.models import ModelVersion
from tests.approvals.helpers import promote, request_approval, sign, validate
from tests.factories import DatasetFactory, ModelVersionFactory, RegisteredModelFactory

SHA = hashlib.sha256(b"artifact").hexdigest()


def _register(actor, model, version="1.0.0", **extra) -> ModelVersion:
    data = {"artifact_uri": "s3://models/fd/1.0.0.pkl", "artifact_sha256": SHA}
    data.update(extra)
    return services.model_version_register(actor=actor, model=model, version=version, **data)


@pytest.fixture
def approved_model(model_owner, business_owner):
    return RegisteredModelFactory(
        slug="approved-model",
        owner=model_owner,
        business_owner=business_owner,
        status=LifecycleStatus.APPROVED,
        risk_tier=2,
        eu_ai_act_class=EUAIActClass.LIMITED,
    )


# --- register ----------------------------------------------------------------------------


def test_the_owner_registers_a_version_with_its_lineage(model_owner, owned_model):
    train, evaluation = DatasetFactory(slug="train-2025"), DatasetFactory(slug="holdout-2025")
    with context.bind(request_id="ci-run-42", client_ip="10.0.0.9"):
        version = _register(
            model_owner,
            owned_model,
            code_commit="abc1234",
            hyperparameters={"depth": 6, "eta": 0.1},
            evaluation_metrics={"auc": 0.91},
            training_datasets=[train],
            evaluation_datasets=[evaluation],
        )

    assert version.created_by == model_owner
    assert version.stage == VersionStage.DEVELOPMENT
    assert not version.is_locked
    assert {(link.role, link.dataset.slug) for link in version.dataset_links.all()} == {
        ("trained_on", "train-2025"),
        ("evaluated_on", "holdout-2025"),
    }
    [event] = AuditEvent.objects.all()
    assert event.action == "create"
    assert (event.object_type, event.object_id) == ("inventory.modelversion", str(version.pk))
    assert event.model_ref == owned_model.pk
    assert (event.request_id, event.client_ip) == ("ci-run-42", "10.0.0.9")
    assert event.changes["version"] == {"before": None, "after": "1.0.0"}
    assert event.changes["artifact_sha256"] == {"before": None, "after": SHA}
    assert event.changes["hyperparameters"] == {"before": None, "after": {"depth": 6, "eta": 0.1}}
    assert event.changes["datasets"] == {
        "before": None,
        "after": ["evaluated_on:holdout-2025", "trained_on:train-2025"],
    }


def test_many_versions_register_at_once_each_checked_and_audited(
    model_owner, owned_model, django_assert_max_num_queries
):
    train, holdout = DatasetFactory(slug="train-2025"), DatasetFactory(slug="holdout-2025")
    _register(model_owner, owned_model, version="1")
    data = {"artifact_uri": "s3://m", "artifact_sha256": SHA}
    items = [
        services.NewVersion("1", data),  # already there
        services.NewVersion("2", {**data, "hyperparameters": {"depth": 6}}, [train], [holdout]),
        services.NewVersion("3", {**data, "artifact_sha256": "not a hash"}),
        services.NewVersion("4", {**data, "evaluation_metrics": {"auc": float("nan")}}),
        services.NewVersion("5", data, [train]),
        services.NewVersion("5", data),  # twice in the batch
    ]
    with transaction.atomic(), django_assert_max_num_queries(16):
        created, refused = services.model_versions_register_many(
            actor=model_owner, model=owned_model, versions=items
        )
    assert [v.version for v in created] == ["2", "5"]
    assert set(refused) == {"1", "3", "4", "5"}
    assert "already exists" in refused["1"].message and "version" in refused["1"].field_errors
    assert "artifact_sha256" in refused["3"].field_errors
    assert "evaluation_metrics" in refused["4"].field_errors
    two = ModelVersion.objects.get(model=owned_model, version="2")
    assert {(link.role, link.dataset.slug) for link in two.dataset_links.all()} == {
        ("trained_on", "train-2025"),
        ("evaluated_on", "holdout-2025"),
    }
    event = AuditEvent.objects.get(object_type="inventory.modelversion", object_id=str(two.pk))
    assert event.model_ref == owned_model.pk and event.action == "create"
    assert event.changes["datasets"]["after"] == [
        "evaluated_on:holdout-2025",
        "trained_on:train-2025",
    ]
    assert event.changes["hyperparameters"]["after"] == {"depth": 6}
    single = AuditEvent.objects.filter(object_type="inventory.modelversion").order_by("sequence")
    assert set(single.first().changes) == set(event.changes)  # the same record as one by one


def test_many_versions_need_the_same_permission(viewer, owned_model):
    with pytest.raises(PermissionDenied):
        services.model_versions_register_many(
            actor=viewer, model=owned_model, versions=[services.NewVersion("1", {})]
        )


def test_a_developer_registers_a_version(other_model_owner, owned_model):
    owned_model.developers.add(other_model_owner)
    assert _register(other_model_owner, owned_model).created_by == other_model_owner


@pytest.mark.parametrize(
    "persona", ["validator", "business_owner", "auditor", "viewer", "outsider", "other_model_owner"]
)
def test_others_cannot_register_versions(persona, request, owned_model):
    with pytest.raises(PermissionDenied):
        _register(request.getfixturevalue(persona), owned_model)
    assert not ModelVersion.objects.exists()
    assert not AuditEvent.objects.exists()


def test_a_duplicate_version_is_refused_with_a_field_message(model_owner, owned_model):
    _register(model_owner, owned_model)
    with pytest.raises(ApplicationError) as exc:
        _register(model_owner, owned_model, artifact_uri="s3://models/other.pkl")
    assert exc.value.field_errors["version"] == ["Version '1.0.0' of owned-model already exists."]
    assert ModelVersion.objects.count() == 1
    assert AuditEvent.objects.count() == 1


def test_the_same_version_string_may_exist_in_another_model(model_owner, owned_model):
    other = RegisteredModelFactory(owner=model_owner)
    _register(model_owner, owned_model)
    _register(model_owner, other)
    assert ModelVersion.objects.filter(version="1.0.0").count() == 2


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("artifact_sha256", "not-a-hash"),
        ("artifact_sha256", SHA.upper()),
        ("code_commit", "zzz"),
        ("version", "has space"),
        ("artifact_uri", ""),
    ],
)
def test_invalid_version_fields_are_refused_by_name(model_owner, owned_model, field, value):
    with pytest.raises(ApplicationError) as exc:
        _register(model_owner, owned_model, **{field: value})
    assert field in exc.value.field_errors
    assert not ModelVersion.objects.exists()
    assert not AuditEvent.objects.exists()


def test_a_retired_model_receives_no_versions(model_owner):
    model = RegisteredModelFactory(owner=model_owner, status=LifecycleStatus.RETIRED)
    with pytest.raises(ApplicationError, match="retired"):
        _register(model_owner, model)


@pytest.mark.parametrize("field", ["stage", "approved_at", "approved_by", "created_by"])
def test_governance_fields_cannot_be_set_on_registration(model_owner, owned_model, field):
    with pytest.raises(ApplicationError) as exc:
        _register(model_owner, owned_model, **{field: None})
    assert field in exc.value.field_errors


# --- update and immutability -------------------------------------------------------------


def test_an_unapproved_version_can_be_corrected(model_owner, owned_model):
    version = _register(model_owner, owned_model)
    new_data = DatasetFactory(slug="fresh-data")
    services.model_version_update(
        actor=model_owner,
        version=version,
        description="Retrained.",
        training_datasets=[new_data],
    )
    event = AuditEvent.objects.order_by("sequence").last()
    assert event.action == "update"
    assert event.changes == {
        "datasets": {"before": [], "after": ["trained_on:fresh-data"]},
        "description": {"before": "", "after": "Retrained."},
    }


def test_an_approved_version_is_immutable(model_owner, validator, business_owner, approved_model):
    version = _register(model_owner, approved_model)
    validate(version, model_owner, validator)
    promote(version, model_owner, [business_owner, validator])
    before = AuditEvent.objects.count()

    for actor in (model_owner, validator):
        with pytest.raises((ApplicationError, PermissionDenied)) as exc:
            services.model_version_update(actor=actor, version=version, description="Rewritten.")
        if isinstance(exc.value, ApplicationError):
            assert "immutable" in exc.value.message
    fresh = ModelVersion.objects.get(pk=version.pk)
    assert fresh.description == ""
    assert fresh.is_locked
    assert AuditEvent.objects.count() == before


def test_the_owner_is_told_why_an_approved_version_cannot_change(
    model_owner, validator, approved_model
):
    version = _register(model_owner, approved_model)
    validate(version, model_owner, validator)
    with pytest.raises(ApplicationError, match="register a new version instead"):
        services.model_version_update(actor=model_owner, version=version, description="x")


@pytest.mark.parametrize("persona", ["auditor", "viewer", "business_owner", "other_model_owner"])
def test_others_cannot_edit_a_version(persona, request, model_owner, owned_model):
    version = _register(model_owner, owned_model)
    with pytest.raises(PermissionDenied):
        services.model_version_update(
            actor=request.getfixturevalue(persona), version=version, description="x"
        )


# --- stages ------------------------------------------------------------------------------


def test_direct_promotion_is_refused_with_a_pointer_to_a_promotion_request(
    model_owner, validator, admin_user, approved_model
):
    version = _register(model_owner, approved_model)
    for actor in (validator, admin_user, model_owner):
        with pytest.raises(ApplicationError) as exc:
            services.model_version_set_stage(actor=actor, version=version, stage="production")
        assert "request a promotion" in exc.value.field_errors["stage"][0]
    fresh = ModelVersion.objects.get(pk=version.pk)
    assert (fresh.stage, fresh.is_locked) == (VersionStage.DEVELOPMENT, False)
    assert AuditEvent.objects.count() == 1  # the registration


def test_promotion_approves_locks_and_archives_the_previous_production_version(
    model_owner, validator, business_owner, approved_model
):
    first = _register(model_owner, approved_model, "1.0.0")
    second = _register(model_owner, approved_model, "2.0.0")
    validate(first, model_owner, validator)
    promote(first, model_owner, [business_owner, validator])
    validate(second, model_owner, validator)
    promotion = promote(second, model_owner, [business_owner, validator])

    first.refresh_from_db()
    second.refresh_from_db()
    assert first.stage == VersionStage.ARCHIVED
    assert first.is_locked
    assert second.stage == VersionStage.PRODUCTION
    assert (second.approved_by, second.approved_at is not None) == (validator, True)
    assert approved_model.versions.filter(stage=VersionStage.PRODUCTION).count() == 1
    archive_event, promote_event = AuditEvent.objects.filter(
        object_type="inventory.modelversion", action="transition"
    ).order_by("sequence")[1:]
    assert archive_event.object_id == str(first.pk)
    assert archive_event.changes == {"stage": {"before": "production", "after": "archived"}}
    assert archive_event.message == "Superseded by 2.0.0"
    assert promote_event.object_id == str(second.pk)
    assert promote_event.changes == {"stage": {"before": "development", "after": "production"}}
    assert promote_event.message == f"Promotion approved (request #{promotion.pk})."
    [lock_event] = AuditEvent.objects.filter(
        object_type="inventory.modelversion", object_id=str(second.pk), action="update"
    )
    assert lock_event.changes["approved_by"] == {"before": None, "after": validator.pk}


def test_the_database_allows_only_one_production_version(approved_model):
    ModelVersionFactory(model=approved_model, stage=VersionStage.PRODUCTION)
    with pytest.raises(IntegrityError), transaction.atomic():
        ModelVersionFactory(model=approved_model, stage=VersionStage.PRODUCTION)


@pytest.mark.parametrize("status", [LifecycleStatus.DEVELOPMENT, LifecycleStatus.VALIDATION])
def test_promotion_needs_an_approved_model(model_owner, validator, status):
    model = RegisteredModelFactory(
        owner=model_owner, status=status, risk_tier=3, eu_ai_act_class=EUAIActClass.MINIMAL
    )
    version = _register(model_owner, model)
    with pytest.raises(ApplicationError) as exc:
        services.model_version_set_stage(actor=validator, version=version, stage="production")
    assert "stage" in exc.value.field_errors
    with pytest.raises(ApplicationError, match="once the model is approved"):
        request_approval(ApprovalKind.PROMOTION, version, model_owner)
    assert ModelVersion.objects.get(pk=version.pk).stage == VersionStage.DEVELOPMENT


def test_a_prohibited_model_never_gets_a_production_version(model_owner, admin_user):
    model = RegisteredModelFactory(
        owner=model_owner, eu_ai_act_class=EUAIActClass.PROHIBITED, risk_tier=1
    )
    version = _register(model_owner, model)
    with pytest.raises(ApplicationError, match="request a promotion"):
        services.model_version_set_stage(actor=admin_user, version=version, stage="production")
    with pytest.raises(ApplicationError, match="prohibited"):
        request_approval(ApprovalKind.PROMOTION, version, model_owner)
    assert ModelVersion.objects.get(pk=version.pk).stage == VersionStage.DEVELOPMENT


@pytest.mark.parametrize("persona", ["model_owner", "auditor", "viewer", "other_model_owner"])
def test_only_the_named_approvers_sign_a_promotion(
    persona, request, model_owner, validator, approved_model
):
    version = _register(model_owner, approved_model)
    validate(version, model_owner, validator)
    pending = request_approval(ApprovalKind.PROMOTION, version, model_owner)
    with pytest.raises(PermissionDenied):
        sign(pending, request.getfixturevalue(persona))
    assert not pending.decisions.exists()
    assert ModelVersion.objects.get(pk=version.pk).stage == VersionStage.DEVELOPMENT


@pytest.mark.parametrize("persona", ["business_owner", "auditor", "viewer"])
def test_read_only_and_business_roles_cannot_request_a_promotion(
    persona, request, model_owner, validator, approved_model
):
    version = _register(model_owner, approved_model)
    validate(version, model_owner, validator)
    with pytest.raises(PermissionDenied):
        request_approval(ApprovalKind.PROMOTION, version, request.getfixturevalue(persona))


def test_the_owner_moves_an_unapproved_version_to_staging(model_owner, owned_model):
    version = _register(model_owner, owned_model)
    services.model_version_set_stage(actor=model_owner, version=version, stage="staging")
    assert ModelVersion.objects.get(pk=version.pk).stage == VersionStage.STAGING


def test_the_owner_cannot_withdraw_an_approved_version(model_owner, validator, approved_model):
    version = _register(model_owner, approved_model)
    validate(version, model_owner, validator)
    with pytest.raises(PermissionDenied):
        services.model_version_set_stage(actor=model_owner, version=version, stage="archived")


@pytest.mark.parametrize("stage", ["development", "launched"])
def test_unknown_or_unchanged_stages_are_refused(model_owner, owned_model, stage):
    version = _register(model_owner, owned_model)
    with pytest.raises(ApplicationError):
        services.model_version_set_stage(actor=model_owner, version=version, stage=stage)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), [1.0, float("-inf")]])
@pytest.mark.parametrize("field", ["hyperparameters", "evaluation_metrics"])
def test_nan_and_infinity_are_refused_by_field(model_owner, owned_model, field, value):
    with pytest.raises(ApplicationError) as exc:
        _register(model_owner, owned_model, **{field: {"auc": {"holdout": value}}})
    assert field in exc.value.field_errors
    assert not ModelVersion.objects.exists()
