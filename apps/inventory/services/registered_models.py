"""Every write to the inventory. Keyword-only, atomic, audited in the same transaction."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction

from apps.accounts import roles
from apps.audit import diff
from apps.audit.services import audit_record
from apps.core import clock
from apps.core.errors import ApplicationError
from apps.core.services import reject_unknown_fields, require_perm, validate_instance
from apps.inventory import lifecycle, risk, selectors
from apps.inventory import rules as inventory_rules
from apps.inventory.choices import (
    AnnexIIIPoint,
    DatasetRole,
    DeploymentEnvironment,
    DeploymentStatus,
    EUAIActClass,
    LifecycleStatus,
    RiskAssessmentStatus,
    VersionStage,
)
from apps.inventory.models import (
    BusinessUnit,
    Dataset,
    Deployment,
    ModelDependency,
    ModelVersion,
    RegisteredModel,
    RiskAssessment,
    VersionDataset,
)

# Fields a model's create/edit form may set. Risk, EU class and lifecycle fields change only
# through the questionnaire, the validator's decision and lifecycle transitions.
MODEL_EDITABLE_FIELDS = (
    "name",
    "description",
    "purpose",
    "out_of_scope_uses",
    "intended_users",
    "business_unit",
    "origin",
    "vendor",
    "owner",
    "business_owner",
    "validator",
    "model_type",
    "algorithm",
    "inputs",
    "outputs",
    "downstream_consumers",
    "limitations",
    "assumptions",
    "ethical_considerations",
    "explainability",
    "human_oversight_contact",
    "next_review_date",
)
# Accountability fields only admins and validators may reassign.
MODEL_REASSIGN_FIELDS = ("owner", "business_owner", "validator")
# Fields no edit sets, in any path (form, API, admin): the risk questionnaire and the
# validator's decision set the first six, lifecycle transitions the rest.
MODEL_GOVERNED_FIELDS = (
    "risk_tier",
    "risk_tier_rationale",
    "risk_assessed_by",
    "risk_assessed_at",
    "eu_ai_act_class",
    "eu_annex_iii_point",
    "status",
    "status_changed_at",
    "validation_started_at",
    "approved_at",
    "deployed_at",
    "retired_at",
    "retirement_reason",
)
MODEL_AUDITED_FIELDS = ("slug", *MODEL_EDITABLE_FIELDS, *MODEL_GOVERNED_FIELDS)
VERSION_EDITABLE_FIELDS = (
    "description",
    "artifact_uri",
    "artifact_sha256",
    "code_commit",
    "hyperparameters",
    "evaluation_metrics",
)
VERSION_AUDITED_FIELDS = (
    "version",
    *VERSION_EDITABLE_FIELDS,
    "stage",
    "approved_at",
    "approved_by",
)
DATASET_EDITABLE_FIELDS = (
    "name",
    "description",
    "uri",
    "version",
    "content_hash",
    "owner",
    "contains_personal_data",
    "motivation",
    "composition",
    "collection_process",
    "preprocessing",
    "known_gaps",
)
DATASET_AUDITED_FIELDS = ("slug", *DATASET_EDITABLE_FIELDS)
DEPLOYMENT_AUDITED_FIELDS = (
    "version",
    "environment",
    "endpoint",
    "consumers",
    "status",
    "deployed_at",
)


def _model_snapshot(model: RegisteredModel) -> dict[str, Any]:
    data = diff.snapshot(model, MODEL_AUDITED_FIELDS)
    data["developers"] = sorted(model.developers.values_list("pk", flat=True)) if model.pk else []
    return data


def _version_snapshot(version: ModelVersion) -> dict[str, Any]:
    data = diff.snapshot(version, VERSION_AUDITED_FIELDS)
    data["datasets"] = sorted(
        f"{link.role}:{link.dataset.slug}"
        for link in version.dataset_links.select_related("dataset")
    )
    return data


def _may_reassign(actor) -> bool:
    return roles.has_role(actor, roles.ADMIN, roles.VALIDATOR)


def _has_non_finite(value: Any) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(_has_non_finite(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_has_non_finite(v) for v in value)
    return False


def _finite_json(data: dict[str, Any], fields: Iterable[str]) -> None:
    """JSON has no NaN or Infinity: PostgreSQL refuses them, so say which field has one."""
    bad = [name for name in fields if _has_non_finite(data.get(name))]
    if bad:
        message = "NaN and infinite numbers cannot be stored; leave the value out or use null."
        raise ApplicationError(message, field_errors={name: [message] for name in bad})


# Path segments the browser pages use for their own routes (e.g. /models/new/).
RESERVED_NAMES = frozenset({"new", "edit", "export"})


def _not_reserved(value: str, *, field: str) -> None:
    if value.lower() in RESERVED_NAMES:
        message = f"{value!r} is reserved; choose another {field}."
        raise ApplicationError(message, field_errors={field: [message]})


def _save_unique(instance, *, duplicate_field: str, message: str) -> None:
    try:
        with transaction.atomic():
            instance.save()
    except IntegrityError as exc:
        raise ApplicationError(message, field_errors={duplicate_field: [message]}) from exc


# --- registered models -------------------------------------------------------------------


@transaction.atomic
def registered_model_create(
    *, actor, slug: str, developers: Iterable = (), **data: Any
) -> RegisteredModel:
    """Register a model in the inventory. It starts in development, tier unassessed."""
    require_perm(actor, "inventory.add_registeredmodel")
    reject_unknown_fields(data, MODEL_EDITABLE_FIELDS)
    _not_reserved(slug, field="slug")
    data.setdefault("owner", actor)
    if data["owner"] != actor and not _may_reassign(actor):
        # Otherwise a model owner could register a model they could then neither see nor edit.
        message = "Register models you own; a validator or administrator can reassign them later."
        raise ApplicationError(message, field_errors={"owner": [message]})
    model = RegisteredModel(slug=slug, created_by=actor, status_changed_at=clock.now(), **data)
    validate_instance(model)
    _save_unique(
        model, duplicate_field="slug", message=f"A model with slug {slug!r} already exists."
    )
    model.developers.set(list(developers))
    audit_record(
        actor=actor,
        action="create",
        obj=model,
        model_ref=model.pk,
        changes=diff.created(_model_snapshot(model)),
    )
    return model


@transaction.atomic
def registered_model_update(
    *, actor, model: RegisteredModel, developers: Iterable | None = None, **data: Any
) -> RegisteredModel:
    """Edit a model's descriptive and accountability fields."""
    require_perm(actor, "inventory.change_registeredmodel", model)
    reject_unknown_fields(data, MODEL_EDITABLE_FIELDS)
    model = RegisteredModel.objects.select_for_update(of=("self",)).get(pk=model.pk)
    before = _model_snapshot(model)
    for name, value in data.items():
        setattr(model, name, value)
    if not _may_reassign(actor):
        after = diff.snapshot(model, MODEL_REASSIGN_FIELDS)
        changed = [f for f in MODEL_REASSIGN_FIELDS if after[f] != before[f]]
        if changed:
            raise ApplicationError(
                "Only validators and administrators can reassign owners or the validator.",
                field_errors={
                    f: ["Only validators and administrators can change this."] for f in changed
                },
            )
    validate_instance(model)
    model.save()
    if developers is not None:
        model.developers.set(list(developers))
    changes = diff.diff(before, _model_snapshot(model))
    if changes:
        audit_record(actor=actor, action="update", obj=model, model_ref=model.pk, changes=changes)
    return model


@transaction.atomic
def registered_model_transition(
    *, actor, model: RegisteredModel, target: str, reason: str = ""
) -> RegisteredModel:
    """Move a model along its lifecycle; illegal moves are refused with a message.

    Approval, production and the retirement of an approved or deployed model are sign-offs:
    they happen through the approval engine (validation sign-off, promotion, retirement),
    never by a direct move.
    """
    require_perm(actor, "inventory.transition_registeredmodel", model)
    model = RegisteredModel.objects.select_for_update(of=("self",)).get(pk=model.pk)
    signoff = GOVERNED_TRANSITIONS.get((model.status, target)) or GOVERNED_TRANSITIONS.get(
        (None, target)
    )
    if signoff:
        raise ApplicationError(signoff, field_errors={"status": [signoff]})
    return apply_transition(actor=actor, model=model, target=target, reason=reason)


GOVERNED_TRANSITIONS = {
    (None, LifecycleStatus.APPROVED): (
        "A model is approved when a validator signs off the validation of one of its versions; "
        "request a validation sign-off."
    ),
    (None, LifecycleStatus.PRODUCTION): (
        "A model goes into production when a promotion of one of its versions is approved; "
        "request a promotion."
    ),
    (LifecycleStatus.APPROVED, LifecycleStatus.RETIRED): (
        "Retiring an approved model needs sign-off; request a retirement."
    ),
    (LifecycleStatus.PRODUCTION, LifecycleStatus.RETIRED): (
        "Retiring a model in production needs sign-off; request a retirement."
    ),
}


def apply_transition(*, actor, model: RegisteredModel, target: str, reason: str = ""):
    """The lifecycle move itself, checked against the state machine. Callers check who may
    make it: ``registered_model_transition`` for direct moves, approval effects otherwise.
    Must run inside a transaction with ``model`` locked."""
    try:
        lifecycle.check_transition(
            current=model.status,
            target=target,
            eu_class=model.eu_ai_act_class,
            risk_tier=model.risk_tier,
            has_production_version=model.versions.filter(stage=VersionStage.PRODUCTION).exists(),
            reason=reason,
        )
    except lifecycle.TransitionRefused as exc:
        raise ApplicationError(str(exc), field_errors={"status": [str(exc)]}) from exc
    before = _model_snapshot(model)
    now = clock.now()
    model.status = target
    model.status_changed_at = now
    if target == LifecycleStatus.VALIDATION:
        model.validation_started_at = now
    elif target == LifecycleStatus.APPROVED:
        model.approved_at = now
    elif target == LifecycleStatus.PRODUCTION:
        model.deployed_at = model.deployed_at or now
    elif target == LifecycleStatus.RETIRED:
        model.retired_at = now
        model.retirement_reason = reason.strip()
    model.save()
    audit_record(
        actor=actor,
        action="transition",
        obj=model,
        model_ref=model.pk,
        changes=diff.diff(before, _model_snapshot(model)),
        message=reason.strip(),
    )
    if target == LifecycleStatus.RETIRED:
        _wind_down(actor=actor, model=model, reason=reason.strip())
    return model


def _wind_down(*, actor, model: RegisteredModel, reason: str) -> None:
    """A retired model serves nothing: archive its live versions and stop its deployments."""
    message = f"Model retired: {reason}"
    live = ModelVersion.objects.select_for_update(of=("self",)).filter(
        model=model, stage__in=[VersionStage.PRODUCTION, VersionStage.STAGING]
    )
    for version in live:
        before = version.stage
        version.stage = VersionStage.ARCHIVED
        version.save(update_fields=["stage"])
        audit_record(
            actor=actor,
            action="transition",
            obj=version,
            model_ref=model.pk,
            changes={"stage": {"before": before, "after": VersionStage.ARCHIVED}},
            message=message,
        )
    active = Deployment.objects.select_for_update(of=("self",)).filter(
        version__model=model, status=DeploymentStatus.ACTIVE
    )
    for deployment in active:
        deployment.status = DeploymentStatus.INACTIVE
        deployment.save(update_fields=["status"])
        audit_record(
            actor=actor,
            action="update",
            obj=deployment,
            model_ref=model.pk,
            changes={
                "status": {"before": DeploymentStatus.ACTIVE, "after": DeploymentStatus.INACTIVE}
            },
            message=message,
        )


@transaction.atomic
def registered_model_delete(*, actor, model: RegisteredModel) -> None:
    """Remove a model registered by mistake. Only in development and without versions."""
    require_perm(actor, "inventory.delete_registeredmodel", model)
    if model.status != LifecycleStatus.DEVELOPMENT or model.versions.exists():
        raise ApplicationError(
            "Only a model still in development with no versions can be deleted; retire it instead."
        )
    if model.upstream_links.exists() or model.downstream_links.exists():
        raise ApplicationError(
            "The model is linked to other models in the lineage; remove those links first."
        )
    if model.reports.exists():
        raise ApplicationError(
            "Reports have been generated about this model and are kept as evidence; "
            "retire the model instead."
        )
    before = _model_snapshot(model)
    pk, label = model.pk, str(model)
    model.risk_assessments.all().delete()
    model.delete()
    audit_record(
        actor=actor,
        action="delete",
        object_type="inventory.registeredmodel",
        object_id=str(pk),
        object_repr=label,
        model_ref=pk,
        changes=diff.deleted(before),
    )


# --- risk tiering ------------------------------------------------------------------------


@transaction.atomic
def risk_assessment_submit(
    *,
    actor,
    model: RegisteredModel,
    answers: dict[str, str],
    eu_ai_act_class: str,
    eu_annex_iii_point: str = "",
) -> RiskAssessment:
    """Record questionnaire answers and the suggested tier; a validator decides later."""
    require_perm(actor, "inventory.assess_risk_registeredmodel", model)
    valid_classes = {c for c, _ in EUAIActClass.choices} - {EUAIActClass.UNASSESSED}
    if eu_ai_act_class not in valid_classes:
        raise ApplicationError(
            "Choose the EU AI Act class.",
            field_errors={"eu_ai_act_class": ["Choose the EU AI Act class."]},
        )
    if eu_ai_act_class == EUAIActClass.HIGH_RISK and not eu_annex_iii_point:
        raise ApplicationError(
            "A high-risk model must name its Annex III point.",
            field_errors={"eu_annex_iii_point": ["Name the Annex III point, e.g. 5(b)."]},
        )
    if eu_annex_iii_point not in AnnexIIIPoint.values:
        # The point is copied onto the model on decision; it must be a valid choice.
        raise ApplicationError(
            f"{eu_annex_iii_point!r} is not an Annex III point.",
            field_errors={"eu_annex_iii_point": ["Choose a point from Annex III, e.g. 5(b)."]},
        )
    try:
        suggestion = risk.suggest_tier(answers, eu_ai_act_class)
    except risk.InvalidAnswers as exc:
        raise ApplicationError(
            "The questionnaire is incomplete.", field_errors=exc.field_errors
        ) from exc
    answers = {**answers, "eu_annex_iii_point": eu_annex_iii_point}
    assessment = RiskAssessment.objects.create(
        model=model,
        answers=answers,
        eu_ai_act_class=eu_ai_act_class,
        suggested_tier=suggestion.tier,
        suggested_rationale=suggestion.rationale,
        points=suggestion.points,
        assessed_by=actor,
        assessed_at=clock.now(),
    )
    audit_record(
        actor=actor,
        action="create",
        obj=assessment,
        model_ref=model.pk,
        changes=diff.created(
            {
                "answers": answers,
                "eu_ai_act_class": eu_ai_act_class,
                "suggested_tier": suggestion.tier,
                "points": suggestion.points,
            }
        ),
    )
    return assessment


@transaction.atomic
def risk_assessment_decide(
    *, actor, assessment: RiskAssessment, tier: int, reason: str = ""
) -> RiskAssessment:
    """A validator proposes the tier: confirms the suggestion or overrides it with a reason.

    The proposal is recorded on the assessment (``decided_*``, status awaiting approval) and a
    risk-tier-change approval request is made with the proposer as requester: the tier reaches
    the model only when another validator approves it (``apps.inventory.approvals``). The
    request is available as ``assessment.approval_request``. A proposal whose request went
    stale or was withdrawn may be made again.
    """
    from apps.approvals.choices import ApprovalKind
    from apps.approvals.services import approval_request_create

    require_perm(actor, "inventory.decide_risk_registeredmodel", assessment.model)
    assessment = (
        RiskAssessment.objects.select_for_update(of=("self",))
        .select_related("model")
        .get(pk=assessment.pk)
    )
    if assessment.status == RiskAssessmentStatus.AWAITING_APPROVAL:
        if selectors.risk_tier_request_pending(assessment):
            raise ApplicationError("A tier for this assessment is already awaiting approval.")
    elif assessment.status != RiskAssessmentStatus.PENDING:
        raise ApplicationError("This assessment has already been decided.")
    if assessment.assessed_by_id == actor.pk:
        # Four-eyes: the tier is proposed by someone other than the person who assessed it.
        raise ApplicationError(
            "You filled in this questionnaire; another validator must confirm or override the tier."
        )
    if tier not in (1, 2, 3):
        raise ApplicationError(
            "Choose Tier 1, 2 or 3.", field_errors={"tier": ["Choose 1, 2 or 3."]}
        )
    refusal = risk.check_tier_decision(tier=tier, eu_class=assessment.eu_ai_act_class)
    if refusal:
        raise ApplicationError(refusal, field_errors={"tier": [refusal]})
    overriding = tier != assessment.suggested_tier
    if overriding and not reason.strip():
        message = "Give the reason for overriding the suggested tier."
        raise ApplicationError(message, field_errors={"reason": [message]})
    before_status = assessment.status
    assessment.status = RiskAssessmentStatus.AWAITING_APPROVAL
    assessment.decided_tier = tier
    assessment.decision_reason = reason.strip()
    assessment.decided_by = actor
    assessment.decided_at = clock.now()
    refusal = risk.proposal_refusal(assessment=assessment, model=assessment.model)
    if refusal:
        raise ApplicationError(refusal)
    assessment.save()
    audit_record(
        actor=actor,
        action="decide",
        obj=assessment,
        model_ref=assessment.model_id,
        changes={
            "status": {"before": before_status, "after": assessment.status},
            "decided_tier": {"before": None, "after": tier},
            "decision_reason": {"before": "", "after": assessment.decision_reason},
            "decided_by": {"before": None, "after": actor.pk},
            "decided_at": {"before": None, "after": assessment.decided_at},
        },
        message=f"Tier {tier} proposed" + (f": {reason.strip()}" if reason.strip() else "."),
    )
    justification = reason.strip() or f"Confirm the suggested Tier {tier}."
    assessment.approval_request = approval_request_create(
        actor=actor,
        kind=ApprovalKind.RISK_TIER_CHANGE,
        subject=assessment,
        justification=justification,
    )
    return assessment


def risk_assessment_apply(*, actor, assessment: RiskAssessment, request) -> None:
    """Apply an approved tier proposal to the model. Called by the approval engine inside the
    transaction of the deciding signature, with the assessment locked.

    The proposing validator stays the model's ``risk_assessed_by`` (they made the call); the
    approver is recorded on the assessment (``approved_by``) and in the model's rationale.
    """
    model = RegisteredModel.objects.select_for_update(of=("self",)).get(pk=assessment.model_id)
    refusal = risk.proposal_refusal(assessment=assessment, model=model)
    if refusal:
        raise ApplicationError(refusal)
    now = clock.now()
    tier = assessment.decided_tier
    reason = assessment.decision_reason
    overriding = tier != assessment.suggested_tier
    assessment.status = (
        RiskAssessmentStatus.OVERRIDDEN if overriding else RiskAssessmentStatus.CONFIRMED
    )
    assessment.approved_by = actor
    assessment.approved_at = now
    assessment.save(update_fields=["status", "approved_by", "approved_at"])
    audit_record(
        actor=actor,
        action="decide",
        obj=assessment,
        model_ref=assessment.model_id,
        changes={
            "status": {
                "before": RiskAssessmentStatus.AWAITING_APPROVAL,
                "after": assessment.status,
            },
            "approved_by": {"before": None, "after": actor.get_username()},
        },
        message=f"Tier {tier} approved (request #{request.pk}).",
    )
    before = _model_snapshot(model)
    rationale = assessment.suggested_rationale
    if overriding:
        rationale += f"\n\nOverridden to Tier {tier} by the validator: {reason}"
    elif reason:
        rationale += f"\n\nValidator's note: {reason}"
    approver = actor.get_full_name() or actor.get_username()
    rationale += f"\n\nApproved by {approver} (request #{request.pk})."
    model.risk_tier = tier
    model.risk_tier_rationale = rationale
    model.risk_assessed_by_id = assessment.decided_by_id
    model.risk_assessed_at = now
    model.eu_ai_act_class = assessment.eu_ai_act_class
    model.eu_annex_iii_point = assessment.answers.get("eu_annex_iii_point", "")
    if model.eu_ai_act_class != EUAIActClass.HIGH_RISK:
        model.eu_annex_iii_point = ""
    model.save()
    audit_record(
        actor=actor,
        action="update",
        obj=model,
        model_ref=model.pk,
        changes=diff.diff(before, _model_snapshot(model)),
        message=f"Risk tier decision approved (request #{request.pk})",
    )
    # Other proposals were made against the tier that was in force until now.
    from apps.approvals.services import approval_requests_invalidate

    for other in model.risk_assessments.filter(
        status=RiskAssessmentStatus.AWAITING_APPROVAL
    ).exclude(pk=assessment.pk):
        approval_requests_invalidate(
            actor=actor,
            subject=other,
            reason="The model's risk tier changed since this proposal; propose again.",
        )


def risk_assessment_close(*, actor, assessment: RiskAssessment, request) -> None:
    """A tier proposal was rejected or sent back. Changes requested: the assessment awaits a
    new proposal (the withdrawn one stays in the request and the audit trail). Rejected: the
    assessment is closed; a new questionnaire is needed."""
    from apps.approvals.choices import RequestStatus

    before = assessment.status
    if request.status == RequestStatus.REJECTED:
        assessment.status = RiskAssessmentStatus.REJECTED
    else:
        assessment.status = RiskAssessmentStatus.PENDING
        assessment.decided_tier = None
        assessment.decision_reason = ""
        assessment.decided_by = None
        assessment.decided_at = None
    assessment.save()
    audit_record(
        actor=actor,
        action="transition",
        obj=assessment,
        model_ref=assessment.model_id,
        changes={"status": {"before": before, "after": assessment.status}},
        message=f"{request.get_status_display()} (request #{request.pk}): {request.closing_note}",
    )


# --- versions ----------------------------------------------------------------------------


def _set_version_datasets(
    version: ModelVersion, training: Iterable[Dataset], evaluation: Iterable[Dataset]
) -> None:
    version.dataset_links.all().delete()
    links = [
        VersionDataset(version=version, dataset=d, role=DatasetRole.TRAINED_ON) for d in training
    ]
    links += [
        VersionDataset(version=version, dataset=d, role=DatasetRole.EVALUATED_ON)
        for d in evaluation
    ]
    VersionDataset.objects.bulk_create(links)


@transaction.atomic
def model_version_register(
    *,
    actor,
    model: RegisteredModel,
    version: str,
    training_datasets: Iterable[Dataset] = (),
    evaluation_datasets: Iterable[Dataset] = (),
    **data: Any,
) -> ModelVersion:
    """Register a new version of a model, with its artefact hash and data lineage."""
    require_perm(actor, "inventory.add_modelversion", model)
    reject_unknown_fields(data, VERSION_EDITABLE_FIELDS)
    _not_reserved(version, field="version")
    _finite_json(data, ("hyperparameters", "evaluation_metrics"))
    if model.status == LifecycleStatus.RETIRED:
        raise ApplicationError("A retired model cannot receive new versions.")
    duplicate = f"Version {version!r} of {model.slug} already exists."
    # Checked before model validation, which would report it without naming the field.
    if ModelVersion.objects.filter(model=model, version=version).exists():
        raise ApplicationError(duplicate, field_errors={"version": [duplicate]})
    obj = ModelVersion(model=model, version=version, created_by=actor, **data)
    validate_instance(obj)
    _save_unique(obj, duplicate_field="version", message=duplicate)
    _set_version_datasets(obj, training_datasets, evaluation_datasets)
    audit_record(
        actor=actor,
        action="create",
        obj=obj,
        model_ref=model.pk,
        changes=diff.created(_version_snapshot(obj)),
    )
    return obj


@transaction.atomic
def model_version_update(
    *,
    actor,
    version: ModelVersion,
    training_datasets: Iterable[Dataset] | None = None,
    evaluation_datasets: Iterable[Dataset] | None = None,
    **data: Any,
) -> ModelVersion:
    """Edit a version that has not been approved; approved versions are immutable."""
    version = (
        ModelVersion.objects.select_for_update(of=("self",))
        .select_related("model")
        .get(pk=version.pk)
    )
    require_perm(actor, "inventory.add_modelversion", version)  # may edit this model's versions
    if version.is_locked:
        raise ApplicationError(
            f"Version {version.version} was approved on {version.approved_at:%Y-%m-%d} and is "
            "immutable; register a new version instead."
        )
    require_perm(actor, "inventory.change_modelversion", version)
    reject_unknown_fields(data, VERSION_EDITABLE_FIELDS)
    _finite_json(data, ("hyperparameters", "evaluation_metrics"))
    before = _version_snapshot(version)
    for name, value in data.items():
        setattr(version, name, value)
    validate_instance(version)
    version.save()
    if training_datasets is not None or evaluation_datasets is not None:
        current = {r: [] for r in DatasetRole.values}
        for link in version.dataset_links.select_related("dataset"):
            current[link.role].append(link.dataset)
        _set_version_datasets(
            version,
            current[DatasetRole.TRAINED_ON] if training_datasets is None else training_datasets,
            current[DatasetRole.EVALUATED_ON]
            if evaluation_datasets is None
            else evaluation_datasets,
        )
    changes = diff.diff(before, _version_snapshot(version))
    if changes:
        audit_record(
            actor=actor, action="update", obj=version, model_ref=version.model_id, changes=changes
        )
    return version


@transaction.atomic
def model_version_set_stage(*, actor, version: ModelVersion, stage: str) -> ModelVersion:
    """Move a version between development, staging and archived. Production is reached only
    through an approved promotion (see ``promote_version``).

    Who may is ``rules.may_move_version``, asked in the same order as the API and the
    browser: may the actor move this version at all, then is the move allowed, then may the
    actor make this particular move.
    """
    version = (
        ModelVersion.objects.select_for_update(of=("self",))
        .select_related("model")
        .get(pk=version.pk)
    )
    model = version.model
    if actor is None or not inventory_rules.may_move_version(actor, version):
        raise PermissionDenied("You are not allowed to move this version.")
    if stage not in VersionStage.values:
        raise ApplicationError(
            f"Unknown stage {stage!r}.", field_errors={"stage": ["Unknown stage."]}
        )
    if stage == version.stage:
        raise ApplicationError(f"Version {version.version} is already in {stage}.")
    if stage == VersionStage.PRODUCTION:
        message = (
            "Promotion to production needs sign-off: request a promotion of this version; "
            "it takes effect when the approvers the policy names have approved it."
        )
        raise ApplicationError(message, field_errors={"stage": [message]})
    if version.stage == VersionStage.PRODUCTION and model.status == LifecycleStatus.PRODUCTION:
        message = (
            f"{model} is in production and {version.version} is its production version; "
            "promote a replacement version or move the model out of production first."
        )
        raise ApplicationError(message, field_errors={"stage": [message]})
    if not inventory_rules.may_move_version(actor, version, stage):
        raise PermissionDenied(f"You are not allowed to move this version to {stage}.")
    return _set_stage(actor=actor, version=version, stage=stage)


def _set_stage(*, actor, version: ModelVersion, stage: str, message: str = "") -> ModelVersion:
    before = _version_snapshot(version)
    version.stage = stage
    version.save(update_fields=["stage"])
    audit_record(
        actor=actor,
        action="transition",
        obj=version,
        model_ref=version.model_id,
        changes=diff.diff(before, _version_snapshot(version)),
        message=message,
    )
    return version


def version_lock(*, actor, version: ModelVersion) -> ModelVersion:
    """Mark a version approved (immutable evidence). Effect of a validation sign-off or a
    promotion; runs inside the approval's transaction."""
    if version.approved_at is None:
        before = _version_snapshot(version)
        version.approved_at = clock.now()
        version.approved_by = actor
        version.save(update_fields=["approved_at", "approved_by"])
        audit_record(
            actor=actor,
            action="update",
            obj=version,
            model_ref=version.model_id,
            changes=diff.diff(before, _version_snapshot(version)),
            message="Approved: the version is now immutable.",
        )
    return version


def promote_version(*, actor, version: ModelVersion, message: str = "") -> ModelVersion:
    """Effect of an approved promotion: the version becomes production (locked), the previous
    production version is archived, and an approved model moves into production. Runs inside
    the approval's transaction; the approval engine has checked who may do this."""
    model = RegisteredModel.objects.select_for_update(of=("self",)).get(pk=version.model_id)
    if model.eu_ai_act_class == EUAIActClass.PROHIBITED:
        raise ApplicationError(
            "A model classed as an EU prohibited practice cannot go to production."
        )
    for old in (
        ModelVersion.objects.select_for_update(of=("self",))
        .filter(model=model, stage=VersionStage.PRODUCTION)
        .exclude(pk=version.pk)
    ):
        _set_stage(
            actor=actor,
            version=old,
            stage=VersionStage.ARCHIVED,
            message=f"Superseded by {version.version}",
        )
    version_lock(actor=actor, version=version)
    if version.stage != VersionStage.PRODUCTION:  # else: back to production after revalidation
        _set_stage(actor=actor, version=version, stage=VersionStage.PRODUCTION, message=message)
    if model.status == LifecycleStatus.APPROVED:
        apply_transition(
            actor=actor, model=model, target=LifecycleStatus.PRODUCTION, reason=message
        )
    return version


# --- datasets ----------------------------------------------------------------------------


@transaction.atomic
def dataset_create(*, actor, slug: str, **data: Any) -> Dataset:
    require_perm(actor, "inventory.add_dataset")
    reject_unknown_fields(data, DATASET_EDITABLE_FIELDS)
    _not_reserved(slug, field="slug")
    data.setdefault("owner", actor)
    obj = Dataset(slug=slug, created_by=actor, **data)
    validate_instance(obj)
    _save_unique(
        obj, duplicate_field="slug", message=f"A dataset with slug {slug!r} already exists."
    )
    audit_record(
        actor=actor,
        action="create",
        obj=obj,
        changes=diff.created(diff.snapshot(obj, DATASET_AUDITED_FIELDS)),
    )
    return obj


@transaction.atomic
def dataset_update(*, actor, dataset: Dataset, **data: Any) -> Dataset:
    require_perm(actor, "inventory.change_dataset", dataset)
    reject_unknown_fields(data, DATASET_EDITABLE_FIELDS)
    dataset = Dataset.objects.select_for_update(of=("self",)).get(pk=dataset.pk)
    before = diff.snapshot(dataset, DATASET_AUDITED_FIELDS)
    for name, value in data.items():
        setattr(dataset, name, value)
    validate_instance(dataset)
    dataset.save()
    changes = diff.diff(before, diff.snapshot(dataset, DATASET_AUDITED_FIELDS))
    if changes:
        audit_record(actor=actor, action="update", obj=dataset, changes=changes)
    return dataset


# --- deployments and model-to-model lineage ----------------------------------------------


@transaction.atomic
def deployment_create(
    *,
    actor,
    version: ModelVersion,
    environment: str,
    endpoint: str = "",
    consumers: str = "",
    deployed_at=None,
) -> Deployment:
    require_perm(actor, "inventory.add_deployment", version)
    if (
        environment == DeploymentEnvironment.PRODUCTION
        and version.model.eu_ai_act_class == EUAIActClass.PROHIBITED
    ):
        message = "A model classed as an EU prohibited practice cannot be deployed to production."
        raise ApplicationError(message, field_errors={"environment": [message]})
    obj = Deployment(
        version=version,
        environment=environment,
        endpoint=endpoint,
        consumers=consumers,
        deployed_at=deployed_at or clock.now(),
        created_by=actor,
    )
    validate_instance(obj)
    obj.save()
    audit_record(
        actor=actor,
        action="create",
        obj=obj,
        model_ref=version.model_id,
        changes=diff.created(diff.snapshot(obj, DEPLOYMENT_AUDITED_FIELDS)),
    )
    return obj


@transaction.atomic
def model_dependency_create(
    *, actor, upstream: RegisteredModel, downstream: RegisteredModel, description: str = ""
) -> ModelDependency:
    """Record that ``upstream``'s output feeds ``downstream``; refuses cycles."""
    require_perm(actor, "inventory.add_modeldependency", downstream)
    if upstream.pk == downstream.pk:
        raise ApplicationError(
            "A model cannot feed itself.", field_errors={"upstream": ["Same model."]}
        )
    if selectors.model_feeds(start=downstream.pk, goal=upstream.pk):
        raise ApplicationError(
            f"{downstream} already feeds {upstream} (directly or indirectly); "
            "this link would create a cycle.",
            field_errors={"upstream": ["Would create a cycle."]},
        )
    obj = ModelDependency(
        upstream=upstream, downstream=downstream, description=description, created_by=actor
    )
    _save_unique(obj, duplicate_field="upstream", message=f"{upstream} already feeds {downstream}.")
    changes = diff.created(
        {
            "upstream": upstream.slug,
            "downstream": downstream.slug,
            "kind": obj.kind,
            "description": obj.description,
        }
    )
    for ref in {upstream.pk, downstream.pk}:
        audit_record(actor=actor, action="create", obj=obj, model_ref=ref, changes=changes)
    return obj


@transaction.atomic
def model_dependency_delete(*, actor, dependency: ModelDependency) -> None:
    """Remove a model-to-model feed link, recorded on both models' histories."""
    require_perm(actor, "inventory.delete_modeldependency", dependency)
    changes = diff.deleted(
        {
            "upstream": dependency.upstream.slug,
            "downstream": dependency.downstream.slug,
            "kind": dependency.kind,
            "description": dependency.description,
        }
    )
    refs = {dependency.upstream_id, dependency.downstream_id}
    label, pk = str(dependency), dependency.pk
    dependency.delete()
    for ref in sorted(refs):
        audit_record(
            actor=actor,
            action="delete",
            object_type="inventory.modeldependency",
            object_id=str(pk),
            object_repr=label,
            model_ref=ref,
            changes=changes,
        )


# --- business units ----------------------------------------------------------------------


@transaction.atomic
def business_unit_create(*, actor, code: str, name: str) -> BusinessUnit:
    """Add an organisational unit that models can be assigned to."""
    require_perm(actor, "inventory.add_businessunit")
    obj = BusinessUnit(code=code, name=name)
    validate_instance(obj)
    _save_unique(
        obj, duplicate_field="code", message=f"A business unit with code {code!r} already exists."
    )
    audit_record(
        actor=actor,
        action="create",
        obj=obj,
        changes=diff.created(diff.snapshot(obj, ("code", "name"))),
    )
    return obj


@transaction.atomic
def business_unit_update(*, actor, unit: BusinessUnit, code: str, name: str) -> BusinessUnit:
    require_perm(actor, "inventory.change_businessunit", unit)
    unit = BusinessUnit.objects.select_for_update(of=("self",)).get(pk=unit.pk)
    before = diff.snapshot(unit, ("code", "name"))
    unit.code, unit.name = code, name
    validate_instance(unit)
    unit.save()
    changes = diff.diff(before, diff.snapshot(unit, ("code", "name")))
    if changes:
        audit_record(actor=actor, action="update", obj=unit, changes=changes)
    return unit


# --- periodic review date ----------------------------------------------------------------


@transaction.atomic
def model_set_next_review(
    *, actor, model: RegisteredModel, next_review_date, reason: str = ""
) -> RegisteredModel:
    """Set a model's next periodic review date, audited.

    An effect of the reviews app (an attested review, a changed cadence), which checks who
    may cause it; ``actor`` may be None for the scheduler.
    """
    model = RegisteredModel.objects.select_for_update(of=("self",)).get(pk=model.pk)
    before = model.next_review_date
    if before == next_review_date:
        return model
    model.next_review_date = next_review_date
    model.save(update_fields=["next_review_date", "updated_at"])
    audit_record(
        actor=actor,
        action="update",
        obj=model,
        model_ref=model.pk,
        changes={"next_review_date": {"before": before, "after": next_review_date}},
        message=reason,
    )
    return model
