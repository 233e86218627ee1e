"""Registered models: register, edit, lifecycle transitions (with the wind-down of a retired
model), delete, and the next periodic review date."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction

from apps.accounts import signatures
from apps.accounts.services import SignatureAttempt
from apps.audit import diff
from apps.audit.models import AuditEvent
from apps.audit.services import audit_record, audited_update
from apps.core import clock, roles
from apps.core.errors import ApplicationError
from apps.core.services import reject_unknown_fields, require_perm, validate_instance
from apps.inventory import accountability, lifecycle
from apps.inventory.choices import DeploymentStatus, LifecycleStatus, VersionStage
from apps.inventory.models import Deployment, ModelVersion, RegisteredModel
from apps.inventory.services._common import _not_reserved, _save_unique

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


def _model_snapshot(model: RegisteredModel) -> dict[str, Any]:
    data = diff.snapshot(model, MODEL_AUDITED_FIELDS)
    data["developers"] = sorted(model.developers.values_list("pk", flat=True)) if model.pk else []
    return data


def _may_reassign(actor) -> bool:
    return roles.has_role(actor, roles.ADMIN, roles.VALIDATOR)


def _pk(person) -> int | None:
    return getattr(person, "pk", None)


def _check_people(
    *,
    people: dict[str, Any],
    added_developers: Iterable = (),
    named: accountability.Named,
    changed: Iterable[str],
) -> None:
    """Refuse, before anything is saved, a person who does not fit the seat they are named
    to (``people``: field -> person, the seats being set; ``added_developers``) and a
    business owner or validator who would own or develop the model (``named``, as it would
    be; only conflicts touching a ``changed`` seat). The rules are ``accountability``'s,
    the pickers' too."""
    errors: dict[str, list[str]] = {}
    for field, person in people.items():
        message = accountability.seat_refusal(accountability.SINGLE_SEATS[field], person)
        if message:
            errors[field] = [message]
    message = accountability.developers_refusal(added_developers)
    if message:
        errors[accountability.DEVELOPERS.field] = [message]
    for field, message in accountability.independence_refusals(named, changed=changed).items():
        errors.setdefault(field, [message])
    if errors:
        summary = " ".join(message for messages in errors.values() for message in messages)
        raise ApplicationError(summary, field_errors=errors)


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
    developers = list(developers)
    people = {field: data.get(field) for field in accountability.SINGLE_SEATS}
    _check_people(
        people=people,
        added_developers=developers,
        named=accountability.Named(
            owner=_pk(people["owner"]),
            business_owner=_pk(people["business_owner"]),
            validator=_pk(people["validator"]),
            developers=frozenset(_pk(user) for user in developers),
        ),
        changed=accountability.SEAT_FIELDS,
    )
    model = RegisteredModel(slug=slug, created_by=actor, status_changed_at=clock.now(), **data)
    validate_instance(model)
    _save_unique(
        model, duplicate_field="slug", message=f"A model with slug {slug!r} already exists."
    )
    model.developers.set(developers)
    audit_record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        obj=model,
        model_ref=model.pk,
        changes=diff.created(_model_snapshot(model)),
    )
    return model


@transaction.atomic
def registered_model_update(
    *, actor, model: RegisteredModel, developers: Iterable | None = None, **data: Any
) -> RegisteredModel:
    """Edit a model's descriptive and accountability fields. Only the people it changes are
    checked against their seats: a model named before a rule keeps its people (even one who
    has since left or changed role) until someone changes them."""
    require_perm(actor, "inventory.change_registeredmodel", model)
    reject_unknown_fields(data, MODEL_EDITABLE_FIELDS)
    new_developers = None if developers is None else list(developers)

    def check(before: dict[str, Any], model: RegisteredModel) -> None:
        if not _may_reassign(actor):
            _refuse_reassignment(before, model)
        _check_changed_people(before, model, data=data, developers=new_developers)
        if new_developers is not None:
            model.developers.set(new_developers)

    model, _ = audited_update(
        model, actor=actor, data=data, fields=_model_snapshot, model_ref=model.pk, check=check
    )
    return model


def _check_changed_people(
    before: dict[str, Any], model: RegisteredModel, *, data: dict[str, Any], developers
) -> None:
    """``_check_people`` for an edit: the seats whose person changes, the developers added."""
    people = {
        field: data[field]
        for field in accountability.SINGLE_SEATS
        if field in data and _pk(data[field]) != before[field]
    }
    current = frozenset(before["developers"])
    after = current if developers is None else frozenset(_pk(user) for user in developers)
    added = [user for user in developers or () if _pk(user) not in current]
    _check_people(
        people=people,
        added_developers=added,
        named=accountability.Named(
            owner=model.owner_id,
            business_owner=model.business_owner_id,
            validator=model.validator_id,
            developers=after,
        ),
        changed=[*people, *([accountability.DEVELOPERS.field] if after != current else [])],
    )


def _refuse_reassignment(before: dict[str, Any], model: RegisteredModel) -> None:
    after = diff.snapshot(model, MODEL_REASSIGN_FIELDS)
    changed = [f for f in MODEL_REASSIGN_FIELDS if after[f] != before[f]]
    if changed:
        raise ApplicationError(
            "Only validators and administrators can reassign owners or the validator.",
            field_errors={
                f: ["Only validators and administrators can change this."] for f in changed
            },
        )


#: What a signed lifecycle move made at the identity provider is, for its pending signature
#: in the browser and an API client's signature challenge.
TRANSITION_SIGNATURE_PURPOSE = "model_transition"


def transition_signature(model: RegisteredModel, target: str) -> SignatureAttempt:
    """What the signature of a lifecycle move signs, for the audit event of a refusal."""
    label = dict(LifecycleStatus.choices).get(target, target)
    return SignatureAttempt(
        obj=model,
        model_ref=model.pk,
        description=f"moving {model.name} from {model.get_status_display()} to {label}",
    )


def registered_model_transition_check(
    *, actor, model: RegisteredModel, target: str, reason: str = "", from_status: str = ""
) -> bool:
    """Refuse (PermissionDenied, or ApplicationError with the reason) a direct move the
    service would refuse now; whether it must be signed otherwise. Asked before a signature,
    so that none is asked (nor the signer sent to the identity provider) for a move that
    would be refused anyway. ``from_status`` is the status the actor saw: a model no longer
    in it is not moved."""
    require_perm(actor, "inventory.transition_registeredmodel", model)
    if from_status and model.status != from_status:
        raise _status_changed(model, from_status)
    _refuse_governed(model, target)
    signed = lifecycle.needs_signature(current=model.status, target=target)
    if signed:
        _check_transition(model, target=target, reason=reason)
    return signed


def registered_model_transition(
    *,
    actor,
    model: RegisteredModel,
    target: str,
    reason: str = "",
    password: str = "",
    credential: signatures.Credential | None = None,
    from_status: str = "",
    http_request=None,
) -> RegisteredModel:
    """Move a model along its lifecycle; illegal moves are refused with a message.

    Approval, production and the retirement of an approved or deployed model are sign-offs:
    they happen through the approval engine (validation sign-off, promotion, retirement),
    never by a direct move. The direct moves that take a model out of production or retire
    it (``lifecycle.needs_signature``) are signed as an approval decision is: with
    ``credential`` (``apps.accounts.signatures``: a re-authentication at the identity
    provider, or a password) or the re-entered ``password``, checked outside any transaction
    (a wrong password counts toward the lockout; any refusal is audited as a failed
    signature), after the move is known to be legal, so that no signature is asked for a
    move that would be refused anyway. The audit event states how the move was signed.
    ``from_status`` is the status the actor saw when they began signing: a model that has
    moved since is not moved.
    """
    model = RegisteredModel.objects.get(pk=model.pk)
    signature = transition_signature(model, target)
    with signatures.refused_before_signing(user=actor, credential=credential, signature=signature):
        signed = registered_model_transition_check(
            actor=actor, model=model, target=target, reason=reason, from_status=from_status
        )
    proof = None
    if signed:
        proof = signatures.sign(
            user=actor,
            credential=credential,
            password=password,
            signature=signature,
            http_request=http_request,
        )
    return _transition(
        actor=actor, model=model, target=target, reason=reason, proof=proof, from_status=from_status
    )


def _status_changed(model: RegisteredModel, from_status: str) -> ApplicationError:
    seen = dict(LifecycleStatus.choices).get(from_status, from_status)
    message = (
        f"{model.name} is in {model.get_status_display()} now, not {seen} as when you began "
        "signing; nothing was changed. Check it and confirm again."
    )
    return ApplicationError(message, field_errors={"status": [message]})


@transaction.atomic
def _transition(
    *,
    actor,
    model: RegisteredModel,
    target: str,
    reason: str,
    proof: signatures.SignatureProof | None,
    from_status: str = "",
):
    """The direct move under lock, once ``registered_model_transition`` has checked it."""
    model = RegisteredModel.objects.select_for_update(of=("self",)).get(pk=model.pk)
    if from_status and model.status != from_status:
        raise _status_changed(model, from_status)
    _refuse_governed(model, target)
    if lifecycle.needs_signature(current=model.status, target=target) and proof is None:
        # The model changed state between the check and the lock: ask again, signed.
        message = "The model's status changed meanwhile; check it and confirm again."
        raise ApplicationError(message, field_errors={"status": [message]})
    return apply_transition(
        actor=actor,
        model=model,
        target=target,
        reason=reason,
        signature=signatures.signed_text(actor, proof) if proof else "",
        signature_note=signatures.signed_note(actor, proof) if proof else None,
    )


def _refuse_governed(model: RegisteredModel, target: str) -> None:
    signoff = GOVERNED_TRANSITIONS.get((model.status, target)) or GOVERNED_TRANSITIONS.get(
        (None, target)
    )
    if signoff:
        raise ApplicationError(signoff, field_errors={"status": [signoff]})


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


def _check_transition(model: RegisteredModel, *, target: str, reason: str) -> None:
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


def apply_transition(
    *,
    actor,
    model: RegisteredModel,
    target: str,
    reason: str = "",
    signature: str = "",
    signature_note: dict[str, str] | None = None,
):
    """The lifecycle move itself, checked against the state machine. Callers check who may
    make it: ``registered_model_transition`` for direct moves, approval effects otherwise.
    A signed direct move's ``signature`` is added to the audit event's message and its
    ``signature_note`` (``signatures.signed_note``) to the event's changes.
    Must run inside a transaction with ``model`` locked."""
    _check_transition(model, target=target, reason=reason)
    now = clock.now()
    data: dict[str, Any] = {"status": target, "status_changed_at": now}
    if target == LifecycleStatus.VALIDATION:
        data["validation_started_at"] = now
    elif target == LifecycleStatus.APPROVED:
        data["approved_at"] = now
    elif target == LifecycleStatus.PRODUCTION:
        data["deployed_at"] = model.deployed_at or now
    elif target == LifecycleStatus.RETIRED:
        data.update(retired_at=now, retirement_reason=reason.strip())
    audited_update(
        model,
        actor=actor,
        data=data,
        fields=_model_snapshot,
        model_ref=model.pk,
        action=AuditEvent.Action.TRANSITION,
        message=" ".join(part for part in (reason.strip(), signature) if part),
        validate=False,
        lock=False,
        extra_changes={"signature": {"before": None, "after": signature_note}}
        if signature_note
        else None,
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
        audited_update(
            version,
            actor=actor,
            data={"stage": VersionStage.ARCHIVED},
            fields=("stage",),
            model_ref=model.pk,
            action=AuditEvent.Action.TRANSITION,
            message=message,
            validate=False,
            lock=False,
            update_fields=["stage"],
        )
    active = Deployment.objects.select_for_update(of=("self",)).filter(
        version__model=model, status=DeploymentStatus.ACTIVE
    )
    for deployment in active:
        audited_update(
            deployment,
            actor=actor,
            data={"status": DeploymentStatus.INACTIVE},
            fields=("status",),
            model_ref=model.pk,
            message=message,
            validate=False,
            lock=False,
            update_fields=["status"],
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
        action=AuditEvent.Action.DELETE,
        object_type="inventory.registeredmodel",
        object_id=str(pk),
        object_repr=label,
        model_ref=pk,
        changes=diff.deleted(before),
    )


# --- periodic review date ----------------------------------------------------------------


@transaction.atomic
def model_set_next_review(
    *, actor, model: RegisteredModel, next_review_date, reason: str = ""
) -> RegisteredModel:
    """Set a model's next periodic review date, audited.

    An effect of the reviews app (an attested review, a changed cadence), which checks who
    may cause it; ``actor`` may be None for the scheduler.
    """
    model, _ = audited_update(
        model,
        actor=actor,
        data={"next_review_date": next_review_date},
        fields=("next_review_date",),
        model_ref=model.pk,
        message=reason,
        validate=False,
        update_fields=["next_review_date", "updated_at"],
    )
    return model


# --- discovered models --------------------------------------------------------------------

#: The purpose a discovered model carries until its owner states one when claiming it.
DISCOVERED_PURPOSE = "Not stated yet: discovered by an integration, waiting for an owner."
DISCOVERY_FIELDS = ("discovered_from", "discovered_at", "claimed_at")


@transaction.atomic
def registered_model_discover(
    *, actor, slug: str, name: str, source: str, business_unit, description: str = ""
) -> RegisteredModel:
    """Record a model an integration found (e.g. in an MLflow registry) as an ordinary
    inventory record flagged discovered: in development, tier unassessed (treated as Tier 1
    everywhere), held by ``actor`` (the integration's service user) as owner and business
    owner until a model owner claims it. Nothing about it is approved.

    The seats' rules (``accountability``) are not asked here: the service user (a model
    owner, as ``inventory.add_registeredmodel`` requires) keeps the business owner's seat
    only as a placeholder, and ``registered_model_claim`` fills it by the rule."""
    require_perm(actor, "inventory.add_registeredmodel")
    _not_reserved(slug, field="slug")
    now = clock.now()
    model = RegisteredModel(
        slug=slug,
        name=name[:200],
        description=description,
        purpose=DISCOVERED_PURPOSE,
        business_unit=business_unit,
        owner=actor,
        business_owner=actor,
        created_by=actor,
        status_changed_at=now,
        discovered_from=source[:200],
        discovered_at=now,
    )
    # The unit and the users are rows in hand, and the slug's uniqueness is the database's
    # (``_save_unique``): an integration discovering many models pays no query per check.
    validate_instance(
        model, exclude=["business_unit", "owner", "business_owner", "created_by"], constraints=False
    )
    _save_unique(
        model, duplicate_field="slug", message=f"A model with slug {slug!r} already exists."
    )
    audit_record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        obj=model,
        model_ref=model.pk,
        changes=diff.created({**_model_snapshot(model), **diff.snapshot(model, DISCOVERY_FIELDS)}),
        message=f"Discovered in {source}.",
    )
    return model


@transaction.atomic
def registered_model_claim(
    *, actor, model: RegisteredModel, purpose: str, business_owner
) -> RegisteredModel:
    """A model owner (or an administrator) takes a discovered model: they become its owner,
    state its purpose and name its business owner. The integration's service user stays on
    as a developer, so that the sync keeps its versions in step. Tier and lifecycle are
    untouched: claiming approves nothing."""
    model = RegisteredModel.objects.select_for_update(of=("self",)).get(pk=model.pk)
    if not model.awaits_claim:
        raise ApplicationError(f"{model.name} is not waiting to be claimed.")
    require_perm(actor, "inventory.claim_registeredmodel", model)
    purpose = (purpose or "").strip()
    if not purpose:
        message = "State what the model is for."
        raise ApplicationError(message, field_errors={"purpose": [message]})
    service_user = model.owner
    developers = {user.pk for user in model.developers.all()}
    if service_user != actor:
        developers.add(service_user.pk)
    _check_people(
        people={"owner": actor, "business_owner": business_owner},
        named=accountability.Named(
            owner=actor.pk,
            business_owner=_pk(business_owner),
            validator=model.validator_id,
            developers=frozenset(developers),
        ),
        changed=accountability.SEAT_FIELDS,
    )
    before = {**_model_snapshot(model), **diff.snapshot(model, DISCOVERY_FIELDS)}
    model.owner = actor
    model.business_owner = business_owner
    model.purpose = purpose
    model.claimed_at = clock.now()
    model.save(update_fields=["owner", "business_owner", "purpose", "claimed_at", "updated_at"])
    if service_user != actor:
        model.developers.add(service_user)
    after = {**_model_snapshot(model), **diff.snapshot(model, DISCOVERY_FIELDS)}
    audit_record(
        actor=actor,
        action=AuditEvent.Action.UPDATE,
        obj=model,
        model_ref=model.pk,
        changes=diff.diff(before, after),
        message="Claimed a discovered model.",
    )
    return model
