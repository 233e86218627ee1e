"""Model versions: register and edit (with their datasets), move between stages, lock on
approval and promote to production."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction

from apps.accounts import signatures
from apps.accounts.services import SignatureAttempt
from apps.audit import diff
from apps.audit.models import AuditEvent
from apps.audit.services import audit_record, audit_record_many, audited_update
from apps.core import clock
from apps.core.errors import ApplicationError
from apps.core.services import reject_unknown_fields, require_perm, validate_instance
from apps.inventory import lifecycle
from apps.inventory import rules as inventory_rules
from apps.inventory.choices import DatasetRole, EUAIActClass, LifecycleStatus, VersionStage
from apps.inventory.models import Dataset, ModelVersion, RegisteredModel, VersionDataset
from apps.inventory.services._common import _not_reserved, _save_unique
from apps.inventory.services.registered_models import apply_transition

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


def _version_snapshot(version: ModelVersion) -> dict[str, Any]:
    data = diff.snapshot(version, VERSION_AUDITED_FIELDS)
    data["datasets"] = sorted(
        f"{link.role}:{link.dataset.slug}"
        for link in version.dataset_links.select_related("dataset")
    )
    return data


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
        action=AuditEvent.Action.CREATE,
        obj=obj,
        model_ref=model.pk,
        changes=diff.created(_version_snapshot(obj)),
    )
    return obj


@dataclass
class NewVersion:
    """One version of a batch given to ``model_versions_register_many``."""

    version: str
    data: dict[str, Any]
    training_datasets: list[Dataset] = field(default_factory=list)
    evaluation_datasets: list[Dataset] = field(default_factory=list)


@transaction.atomic(savepoint=False)
def model_versions_register_many(
    *, actor, model: RegisteredModel, versions: Iterable[NewVersion]
) -> tuple[list[ModelVersion], dict[str, ApplicationError]]:
    """Register many new versions of one model at once (an integration's first sync), with
    the same checks and audit events as ``model_version_register`` for each, in a handful of
    statements: one existence query, one insert each for the versions, their dataset links
    and their audit events. A version that fails its checks is left out and returned with
    its reason, by version name; the others are registered. Returns ``(registered,
    refused)``."""
    require_perm(actor, "inventory.add_modelversion", model)
    if model.status == LifecycleStatus.RETIRED:
        raise ApplicationError("A retired model cannot receive new versions.")
    items = list(versions)
    existing = set(
        ModelVersion.objects.filter(
            model=model, version__in=[item.version for item in items]
        ).values_list("version", flat=True)
    )
    refused: dict[str, ApplicationError] = {}
    accepted: list[tuple[NewVersion, ModelVersion]] = []
    for item in items:
        try:
            reject_unknown_fields(item.data, VERSION_EDITABLE_FIELDS)
            _not_reserved(item.version, field="version")
            _finite_json(item.data, ("hyperparameters", "evaluation_metrics"))
            if item.version in existing:
                duplicate = f"Version {item.version!r} of {model.slug} already exists."
                raise ApplicationError(duplicate, field_errors={"version": [duplicate]})
            obj = ModelVersion(model=model, version=item.version, created_by=actor, **item.data)
            # The model and the actor are rows in hand, and the database enforces the
            # unique (model, version) pair on insert: no query per field or constraint.
            validate_instance(obj, exclude=["model", "created_by"], constraints=False)
        except ApplicationError as exc:
            refused[item.version] = exc
            continue
        existing.add(item.version)
        accepted.append((item, obj))
    if not accepted:
        return [], refused
    try:
        with transaction.atomic():
            created = ModelVersion.objects.bulk_create([obj for _, obj in accepted])
    except IntegrityError as exc:
        message = f"Versions of {model.slug} were registered meanwhile; sync again."
        raise ApplicationError(message) from exc
    links = []
    events = []
    for item, obj in accepted:
        links += [
            VersionDataset(version=obj, dataset=d, role=DatasetRole.TRAINED_ON)
            for d in item.training_datasets
        ]
        links += [
            VersionDataset(version=obj, dataset=d, role=DatasetRole.EVALUATED_ON)
            for d in item.evaluation_datasets
        ]
        snapshot = diff.snapshot(obj, VERSION_AUDITED_FIELDS)
        snapshot["datasets"] = sorted(
            {f"{DatasetRole.TRAINED_ON}:{d.slug}" for d in item.training_datasets}
            | {f"{DatasetRole.EVALUATED_ON}:{d.slug}" for d in item.evaluation_datasets}
        )
        events.append(
            {
                "actor": actor,
                "action": AuditEvent.Action.CREATE,
                "obj": obj,
                "model_ref": model.pk,
                "changes": diff.created(snapshot),
            }
        )
    VersionDataset.objects.bulk_create(links)
    audit_record_many(events)
    return created, refused


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
    relink = training_datasets is not None or evaluation_datasets is not None
    version, _ = audited_update(
        version,
        actor=actor,
        data=data,
        fields=_version_snapshot,
        model_ref=version.model_id,
        check=(
            lambda _, version: _replace_datasets(version, training_datasets, evaluation_datasets)
        )
        if relink
        else None,
        lock=False,
    )
    return version


def _replace_datasets(
    version: ModelVersion,
    training: Iterable[Dataset] | None,
    evaluation: Iterable[Dataset] | None,
) -> None:
    """Link the version to new training and/or evaluation datasets (None: keep those)."""
    current = {r: [] for r in DatasetRole.values}
    for link in version.dataset_links.select_related("dataset"):
        current[link.role].append(link.dataset)
    _set_version_datasets(
        version,
        current[DatasetRole.TRAINED_ON] if training is None else training,
        current[DatasetRole.EVALUATED_ON] if evaluation is None else evaluation,
    )


#: What taking a version out of production signed at the identity provider is, for its
#: pending signature in the browser and an API client's signature challenge.
STAGE_SIGNATURE_PURPOSE = "version_stage"


def stage_signature(version: ModelVersion, stage: str) -> SignatureAttempt:
    """What the signature of a move out of production signs, for the audit of a refusal."""
    return SignatureAttempt(
        obj=version,
        model_ref=version.model_id,
        description=f"moving production version {version.version} to {stage}",
    )


def model_version_stage_check(*, actor, version: ModelVersion, stage: str) -> None:
    """Refuse (PermissionDenied, or ApplicationError with the reason) a move the service
    would refuse now; asked before a signature, so that none is asked (nor the signer sent
    to the identity provider) for a move that would be refused anyway."""
    _set_stage_checked(actor=actor, version=version, stage=stage, dry_run=True)


def model_version_set_stage(
    *,
    actor,
    version: ModelVersion,
    stage: str,
    password: str = "",
    credential: signatures.Credential | None = None,
    from_stage: str = "",
    http_request=None,
) -> ModelVersion:
    """Move a version between development, staging and archived. Production is reached only
    through an approved promotion (see ``promote_version``).

    Who may is ``rules.may_move_version``, asked in the same order as the API and the
    browser: may the actor move this version at all, then is the move allowed, then may the
    actor make this particular move. Taking a version out of the production stage changes
    what serves, so it is signed as an approval decision is: with ``credential``
    (``apps.accounts.signatures``: a re-authentication at the identity provider, or a
    password) or the re-entered ``password``, checked outside any transaction once the move
    is known to be allowed; the audit event states how it was signed. ``from_stage`` is the
    stage the actor saw when they began signing: a version no longer in it is not moved.
    """
    proof = None
    if from_stage == VersionStage.PRODUCTION or version.stage == VersionStage.PRODUCTION:
        signature = stage_signature(version, stage)
        with signatures.refused_before_signing(
            user=actor, credential=credential, signature=signature
        ):
            if from_stage and version.stage != from_stage:
                raise _stage_changed(version, from_stage)
            model_version_stage_check(actor=actor, version=version, stage=stage)
        proof = signatures.sign(
            user=actor,
            credential=credential,
            password=password,
            signature=signature,
            http_request=http_request,
        )
    return _set_stage_checked(
        actor=actor, version=version, stage=stage, proof=proof, from_stage=from_stage
    )


def _stage_changed(version: ModelVersion, from_stage: str) -> ApplicationError:
    seen = VersionStage(from_stage).label if from_stage in VersionStage.values else from_stage
    message = (
        f"Version {version.version} is {version.get_stage_display()} now, not {seen} as when "
        "you began signing; nothing was changed. Check it and confirm again."
    )
    return ApplicationError(message, field_errors={"stage": [message]})


@transaction.atomic
def _set_stage_checked(
    *,
    actor,
    version: ModelVersion,
    stage: str,
    dry_run: bool = False,
    proof: signatures.SignatureProof | None = None,
    from_stage: str = "",
) -> ModelVersion:
    version = (
        ModelVersion.objects.select_for_update(of=("self",))
        .select_related("model")
        .get(pk=version.pk)
    )
    model = version.model
    if actor is None or not inventory_rules.may_move_version(actor, version):
        raise PermissionDenied("You are not allowed to move this version.")
    if from_stage and version.stage != from_stage:
        raise _stage_changed(version, from_stage)
    if stage not in VersionStage.values:
        raise ApplicationError(
            f"Unknown stage {stage!r}.", field_errors={"stage": ["Unknown stage."]}
        )
    refusal = lifecycle.stage_move_refusal(
        current=version.stage,
        target=stage,
        model_status=model.status,
        version=version.version,
        model=str(model),
    )
    if refusal and stage == version.stage:
        raise ApplicationError(refusal)
    if refusal:
        raise ApplicationError(refusal, field_errors={"stage": [refusal]})
    if not inventory_rules.may_move_version(actor, version, stage):
        raise PermissionDenied(f"You are not allowed to move this version to {stage}.")
    if dry_run:
        return version
    if version.stage == VersionStage.PRODUCTION and proof is None:
        message = f"Version {version.version} went into production meanwhile; confirm again."
        raise ApplicationError(message, field_errors={"stage": [message]})
    if proof is None:
        return _set_stage(actor=actor, version=version, stage=stage)
    return _set_stage(
        actor=actor,
        version=version,
        stage=stage,
        message=signatures.signed_text(actor, proof),
        signature=signatures.signed_note(actor, proof),
    )


def _set_stage(
    *,
    actor,
    version: ModelVersion,
    stage: str,
    message: str = "",
    signature: dict[str, str] | None = None,
) -> ModelVersion:
    """Set the stage and audit it; ``signature`` (``signatures.signed_note``) is recorded
    with the change when the move was signed."""
    version, _ = audited_update(
        version,
        actor=actor,
        data={"stage": stage},
        fields=_version_snapshot,
        model_ref=version.model_id,
        action=AuditEvent.Action.TRANSITION,
        message=message,
        validate=False,
        lock=False,
        update_fields=["stage"],
        extra_changes={"signature": {"before": None, "after": signature}} if signature else None,
    )
    return version


def version_lock(*, actor, version: ModelVersion) -> ModelVersion:
    """Mark a version approved (immutable evidence). Effect of a validation sign-off or a
    promotion; runs inside the approval's transaction."""
    if version.approved_at is None:
        audited_update(
            version,
            actor=actor,
            data={"approved_at": clock.now(), "approved_by": actor},
            fields=_version_snapshot,
            model_ref=version.model_id,
            message="Approved: the version is now immutable.",
            validate=False,
            lock=False,
            update_fields=["approved_at", "approved_by"],
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
