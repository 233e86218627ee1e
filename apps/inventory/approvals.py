"""Approval kinds owned by the inventory: validation sign-off, promotion, retirement and
risk-tier change.

Registered with the approval engine in ``InventoryConfig.ready``. Gates live in ``check``:
no promotion of a Tier 1–2 model without an approved validation of that version, and no
promotion while the model's periodic review is overdue unless an administrator lifted the
gate. The engine also reaches the models every request belongs to through the hooks
registered here (which models a user sees, the rules' predicates about them, the EU AI Act
refusal) and shows the overdue-review gate through ``register_gate``.
"""

from __future__ import annotations

import json

from django.db.models import Prefetch, Q, prefetch_related_objects
from django.utils import timezone

from apps.approvals import selectors as approval_selectors
from apps.approvals.choices import ApprovalKind, RequestStatus
from apps.approvals.models import ApprovalRequest, GateOverride
from apps.approvals.registry import (
    KindHandler,
    ModelHooks,
    register,
    register_gate,
    register_models,
)
from apps.approvals.services import ALREADY_WAITING
from apps.core.errors import ApplicationError
from apps.inventory import risk, rules, selectors, services
from apps.inventory.choices import (
    DeploymentStatus,
    EUAIActClass,
    LifecycleStatus,
    RiskAssessmentStatus,
    VersionStage,
)
from apps.inventory.models import ModelVersion, RegisteredModel, RiskAssessment, VersionDataset


def _load_version(subject_id: str) -> ModelVersion:
    return (
        ModelVersion.objects.select_for_update(of=("self",))
        .select_related("model")
        .get(pk=subject_id)
    )


def _load_model(subject_id: str) -> RegisteredModel:
    return RegisteredModel.objects.select_for_update(of=("self",)).get(pk=subject_id)


_PRODUCTION = "_production_versions"  # where ``_production_versions`` keeps its read


def _production_versions(version: ModelVersion) -> list[ModelVersion]:
    """The model's production versions, newest first, with the dataset links of those and of
    ``version`` itself (datasets included, by role and slug): two queries, made once per
    version object, since the version's content and its comparison both read them."""
    if _PRODUCTION not in version.__dict__:
        production = list(
            version.model.versions.filter(stage=VersionStage.PRODUCTION).order_by("-created_at")
        )
        links = VersionDataset.objects.select_related("dataset").order_by("role", "dataset__slug")
        prefetch_related_objects(
            [version, *(v for v in production if v.pk != version.pk)],
            Prefetch("dataset_links", queryset=links),
        )
        version.__dict__[_PRODUCTION] = production
    return version.__dict__[_PRODUCTION]


def _version_content(version: ModelVersion) -> dict:
    production = _production_versions(version)
    return {
        "model": version.model.slug,
        "version": version.version,
        "artifact_uri": version.artifact_uri,
        "artifact_sha256": version.artifact_sha256,
        "code_commit": version.code_commit,
        "hyperparameters": version.hyperparameters,
        "evaluation_metrics": version.evaluation_metrics,
        "datasets": sorted(
            f"{link.role}:{link.dataset.slug}@{link.dataset.content_hash or link.dataset.version}"
            for link in version.dataset_links.all()
        ),
        "current_production_version": production[0].version if production else None,
        "risk_tier": version.model.risk_tier,
    }


def has_approved_validation(version: ModelVersion) -> bool:
    return ApprovalRequest.objects.filter(
        kind=ApprovalKind.VALIDATION_SIGNOFF,
        subject_type="inventory.modelversion",
        subject_id=str(version.pk),
        status=RequestStatus.APPROVED,
    ).exists()


def review_gate_refusal(model: RegisteredModel) -> str | None:
    """Why an overdue periodic review blocks promotion now, or None."""
    if model.next_review_date is None or model.next_review_date >= timezone.localdate():
        return None
    if approval_selectors.active_gate_override(model=model, gate=GateOverride.Gate.OVERDUE_REVIEW):
        return None
    return (
        f"The periodic review of {model} was due on {model.next_review_date:%d %b %Y} and is "
        "overdue; complete it (or an administrator may lift the gate with a reason) before "
        "promoting."
    )


def prohibited_refusal(model: RegisteredModel) -> str | None:
    """Why no request about the model may be approved: it is an EU AI Act prohibited
    practice. None otherwise."""
    if model.eu_ai_act_class == EUAIActClass.PROHIBITED:
        return (
            f"{model} is classed as a prohibited practice under the EU AI Act and can never "
            "be approved."
        )
    return None


VALIDATABLE = (LifecycleStatus.VALIDATION, LifecycleStatus.APPROVED, LifecycleStatus.PRODUCTION)


def validation_refusal(model: RegisteredModel) -> str | None:
    """Why no version of ``model`` may be signed off as validated now, or None. The one
    rule the engine's check and the pages' buttons ask (``request_refusals``)."""
    # A new version of an approved or deployed model is validated without taking the model
    # out of its status: Tier 1-2 promotions need the validation of that very version.
    if model.status not in VALIDATABLE:
        return f"{model} is in {model.get_status_display().lower()}; move it to validation first."
    if model.risk_tier is None or model.eu_ai_act_class == EUAIActClass.UNASSESSED:
        return "Confirm the model's risk tier and EU AI Act class before validation sign-off."
    return None


def _check_validation(*, subject: ModelVersion, actor, stage: str) -> None:
    refusal = validation_refusal(subject.model)
    if refusal:
        raise ApplicationError(refusal)


def _apply_validation(*, subject: ModelVersion, request, actor) -> None:
    services.version_lock(actor=actor, version=subject)
    model = _load_model(str(subject.model_id))
    if model.status == LifecycleStatus.VALIDATION:
        services.apply_transition(
            actor=actor,
            model=model,
            target=LifecycleStatus.APPROVED,
            reason=f"Validation of {subject.version} signed off (request #{request.pk}).",
        )


def promotion_refusal(
    version: ModelVersion, *, model: RegisteredModel, validated, review_refusal
) -> str | None:
    """Why ``version`` may not be promoted now, or None. ``validated`` and
    ``review_refusal`` are callables, so that the facts that cost a query are read only when
    the rule gets to them (the engine reads them for one version, the pages for all of a
    model's versions at once, see ``request_refusals``)."""
    # After a revalidation the model is approved again while its production version stays
    # in place; promoting that version once more is how the model returns to production.
    if version.stage == VersionStage.PRODUCTION and model.status == LifecycleStatus.PRODUCTION:
        return f"{version.version} is already the production version."
    if model.status not in (LifecycleStatus.APPROVED, LifecycleStatus.PRODUCTION):
        return (
            f"{model} is in {model.get_status_display().lower()}: a version can be promoted "
            "once the model is approved (validation signed off)."
        )
    if (model.risk_tier or 1) in (1, 2) and not validated(version):
        return (
            f"Tier {model.risk_tier or 'unassessed'} models need an approved validation of "
            f"{version.version} before it can be promoted."
        )
    return review_refusal()


def _check_promotion(*, subject: ModelVersion, actor, stage: str) -> None:
    model = subject.model
    refusal = promotion_refusal(
        subject,
        model=model,
        validated=has_approved_validation,
        review_refusal=lambda: review_gate_refusal(model),
    )
    if refusal:
        raise ApplicationError(refusal)


def _retirement_refusal(model: RegisteredModel) -> str | None:
    if model.status == LifecycleStatus.RETIRED:
        return f"{model} is already retired."
    return None


def request_refusals(
    *, user, model: RegisteredModel, versions
) -> dict[tuple[str, int], str | None]:
    """Why each request the model page could offer would be refused now, or None where the
    engine would accept it: ``{(kind, subject pk): reason}`` for a validation sign-off and a
    promotion of each of ``versions`` and the model's retirement. The same rules as the
    kinds' checks (``validation_refusal``, ``promotion_refusal``, the retirement check),
    the EU AI Act refusal, the engine's one-pending-request rule and the permission to
    ask; at most three queries whatever the number of versions."""
    versions = list(versions)
    if not user.has_perm("approvals.add_approvalrequest", model):
        denied = "You may not request sign-offs for this model."
        return {
            **{(k, v.pk): denied for v in versions for k in VERSION_KINDS},
            (ApprovalKind.RETIREMENT, model.pk): denied,
        }
    # The pending requests and the approved validations, in one read.
    pending: set[tuple[str, str]] = set()
    validated_ids: set[str] = set()
    for kind, subject_id, status in ApprovalRequest.objects.filter(
        Q(status=RequestStatus.PENDING)
        | Q(
            kind=ApprovalKind.VALIDATION_SIGNOFF,
            subject_type="inventory.modelversion",
            status=RequestStatus.APPROVED,
        ),
        model=model,
    ).values_list("kind", "subject_id", "status"):
        if status == RequestStatus.PENDING:
            pending.add((kind, subject_id))
        else:
            validated_ids.add(subject_id)

    def validated(version: ModelVersion) -> bool:
        return str(version.pk) in validated_ids

    review: list[str | None] = []

    def review_refusal() -> str | None:
        if not review:
            review.append(review_gate_refusal(model))
        return review[0]

    prohibited = prohibited_refusal(model)
    waiting = ALREADY_WAITING
    refusals: dict[tuple[str, int], str | None] = {}
    for version in versions:
        checks = {
            ApprovalKind.VALIDATION_SIGNOFF: lambda v: validation_refusal(model),
            ApprovalKind.PROMOTION: lambda v: promotion_refusal(
                v, model=model, validated=validated, review_refusal=review_refusal
            ),
        }
        for kind, check in checks.items():
            refusals[(kind, version.pk)] = (
                prohibited
                or check(version)
                or (waiting if (kind, str(version.pk)) in pending else None)
            )
    refusals[(ApprovalKind.RETIREMENT, model.pk)] = (
        prohibited
        or _retirement_refusal(model)
        or (waiting if (ApprovalKind.RETIREMENT, str(model.pk)) in pending else None)
    )
    return refusals


VERSION_KINDS = (ApprovalKind.VALIDATION_SIGNOFF, ApprovalKind.PROMOTION)


def _apply_promotion(*, subject: ModelVersion, request, actor) -> None:
    services.promote_version(
        actor=actor, version=subject, message=f"Promotion approved (request #{request.pk})."
    )


def _metric_text(value) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def _compare_versions(version: ModelVersion) -> list[dict]:
    """The proposed version against the model's production version now: identity,
    evaluation metrics (every metric either reports) and training/evaluation datasets."""
    current = next((v for v in _production_versions(version) if v.pk != version.pk), None)

    def datasets(v: ModelVersion | None) -> str | None:
        if v is None:
            return None
        links = v.dataset_links.all()  # by role and slug (``_production_versions``)
        return ", ".join(f"{link.dataset.slug} ({link.role})" for link in links) or "—"

    old_metrics = (current.evaluation_metrics or {}) if current else {}
    new_metrics = version.evaluation_metrics or {}
    rows = [
        {
            "label": "Version",
            "current": current.version if current else None,
            "proposed": version.version,
        },
        {
            "label": "Artifact SHA-256",
            "current": current.artifact_sha256[:12] if current else None,
            "proposed": version.artifact_sha256[:12],
        },
        {
            "label": "Code commit",
            "current": current.code_commit if current else None,
            "proposed": version.code_commit,
        },
    ]
    for name in sorted(set(old_metrics) | set(new_metrics)):
        rows.append(
            {
                "label": f"Metric: {name}",
                "current": _metric_text(old_metrics.get(name)),
                "proposed": _metric_text(new_metrics.get(name)),
            }
        )
    rows.append({"label": "Datasets", "current": datasets(current), "proposed": datasets(version)})
    return rows


def _model_content(model: RegisteredModel) -> dict:
    return {
        "model": model.slug,
        "status": model.status,
        "production_versions": sorted(
            model.versions.filter(stage=VersionStage.PRODUCTION).values_list("version", flat=True)
        ),
        "active_deployments": sorted(
            str(pk)
            for pk in model.versions.filter(
                deployments__status=DeploymentStatus.ACTIVE
            ).values_list("deployments__pk", flat=True)
        ),
    }


def _check_retirement(*, subject: RegisteredModel, actor, stage: str) -> None:
    refusal = _retirement_refusal(subject)
    if refusal:
        raise ApplicationError(refusal)


def _apply_retirement(*, subject: RegisteredModel, request, actor) -> None:
    services.apply_transition(
        actor=actor,
        model=subject,
        target=LifecycleStatus.RETIRED,
        reason=f"{request.justification} (retirement approved, request #{request.pk})",
    )


def _load_assessment(subject_id: str) -> RiskAssessment:
    return (
        RiskAssessment.objects.select_for_update(of=("self",))
        .select_related("model", "decided_by")
        .get(pk=subject_id)
    )


def _assessment_content(assessment: RiskAssessment) -> dict:
    """The proposal and what it replaces: a change to the model's tier or EU class meanwhile
    changes the hash, so the request goes stale."""
    model = assessment.model
    answers = dict(assessment.answers)
    return {
        "model": model.slug,
        "assessment": assessment.pk,
        "answers": answers,
        "eu_ai_act_class": assessment.eu_ai_act_class,
        "eu_annex_iii_point": answers.get("eu_annex_iii_point", ""),
        "suggested_tier": assessment.suggested_tier,
        "suggested_rationale": assessment.suggested_rationale,
        "proposed_tier": assessment.decided_tier,
        "proposal_reason": assessment.decision_reason,
        "proposed_by": assessment.decided_by.get_username() if assessment.decided_by else None,
        "current_tier": model.risk_tier,
        "current_eu_ai_act_class": model.eu_ai_act_class,
        "current_eu_annex_iii_point": model.eu_annex_iii_point,
    }


def _assessment_title(assessment: RiskAssessment) -> str:
    return f"Risk tier of {assessment.model.name}: Tier {assessment.decided_tier}"


def _compare_assessment(assessment: RiskAssessment) -> list[dict]:
    model = assessment.model
    classes = dict(EUAIActClass.choices)
    proposed_point = assessment.answers.get("eu_annex_iii_point", "")
    if assessment.eu_ai_act_class != EUAIActClass.HIGH_RISK:
        proposed_point = ""
    return [
        {
            "label": "Risk tier",
            "current": f"Tier {model.risk_tier}" if model.risk_tier else "Unassessed",
            "proposed": f"Tier {assessment.decided_tier}",
        },
        {
            "label": "EU AI Act class",
            "current": classes.get(model.eu_ai_act_class, model.eu_ai_act_class),
            "proposed": classes.get(assessment.eu_ai_act_class, assessment.eu_ai_act_class),
        },
        {
            "label": "Annex III point",
            "current": model.eu_annex_iii_point or "—",
            "proposed": proposed_point or "—",
        },
    ]


def _check_assessment(*, subject: RiskAssessment, actor, stage: str) -> None:
    if subject.status != RiskAssessmentStatus.AWAITING_APPROVAL or subject.decided_tier is None:
        raise ApplicationError("This assessment has no tier proposal awaiting approval.")
    if stage == "approve" and subject.assessed_by_id == actor.pk:
        # The questionnaire's author never settles its tier, neither proposing nor approving.
        raise ApplicationError(
            "You filled in this questionnaire; another validator must approve its tier."
        )
    refusal = risk.proposal_refusal(assessment=subject, model=subject.model)
    if refusal:
        raise ApplicationError(refusal)


def _apply_assessment(*, subject: RiskAssessment, request, actor) -> None:
    services.risk_assessment_apply(actor=actor, assessment=subject, request=request)


def _close_assessment(*, subject: RiskAssessment, request, actor) -> None:
    services.risk_assessment_close(actor=actor, assessment=subject, request=request)


def register_kinds() -> None:
    """Register the inventory's approval kinds, the hooks through which the engine reaches the
    inventory's models, and the overdue-review gate."""
    register_models(
        ModelHooks(
            visible=selectors.model_list,
            get=selectors.model_get,
            versions=selectors.version_list,
            version_get=selectors.version_get,
            can_see=rules.can_see_model.test,
            owns=rules.owns_model.test,
            develops=rules.develops_model.test,
            is_named_business_owner=rules.is_named_business_owner.test,
            refusal=prohibited_refusal,
            request_refusals=request_refusals,
        )
    )
    register_gate(GateOverride.Gate.OVERDUE_REVIEW, review_gate_refusal)
    register(
        ApprovalKind.VALIDATION_SIGNOFF,
        KindHandler(
            load=_load_version,
            model_of=lambda v: v.model,
            content=_version_content,
            title=lambda v: f"Validation of {v.model.name} {v.version}",
            check=_check_validation,
            apply=_apply_validation,
        ),
    )
    register(
        ApprovalKind.PROMOTION,
        KindHandler(
            load=_load_version,
            model_of=lambda v: v.model,
            content=_version_content,
            title=lambda v: f"Promote {v.model.name} {v.version} to production",
            check=_check_promotion,
            apply=_apply_promotion,
            compare=_compare_versions,
        ),
    )
    register(
        ApprovalKind.RETIREMENT,
        KindHandler(
            load=_load_model,
            model_of=lambda m: m,
            content=_model_content,
            title=lambda m: f"Retire {m.name}",
            check=_check_retirement,
            apply=_apply_retirement,
            needs_justification=True,
        ),
    )
    register(
        ApprovalKind.RISK_TIER_CHANGE,
        KindHandler(
            load=_load_assessment,
            model_of=lambda a: a.model,
            content=_assessment_content,
            title=_assessment_title,
            check=_check_assessment,
            apply=_apply_assessment,
            on_closed=_close_assessment,
            compare=_compare_assessment,
            # Reclassifying is how a model classed prohibited by mistake gets out of it.
            allows_prohibited_model=True,
        ),
    )
