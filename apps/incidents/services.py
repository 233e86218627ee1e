"""Every write to the incident register. Keyword-only, atomic, audited, on the timeline.

Incidents are opened by hand (``incident_create``) or by a critical threshold breach
(``incident_open_for_breach``, on the evaluation's signal, as the system). A threshold has at
most one active incident: later breaches join it. Serious incidents (EU AI Act Art. 3(49))
carry a reporting deadline recomputed whenever what it depends on changes.

An emergency rollback (``incident_rollback``) re-promotes the model's previous production
version at once and asks for its ratification after the fact through the approval engine
(kind ``emergency_change``, see ``apps.incidents.approvals``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models.functions import Length
from django.utils import timezone

from apps.accounts import signatures
from apps.accounts.services import SignatureAttempt
from apps.approvals.choices import ApprovalKind
from apps.approvals.services import approval_request_create
from apps.audit import diff
from apps.audit.models import AuditChainHead, AuditEvent
from apps.audit.services import audit_record, audited_update
from apps.core import clock, roles
from apps.core.errors import ApplicationError
from apps.core.services import reject_unknown_fields, require_perm, validate_instance
from apps.incidents import deadlines, selectors, workflow
from apps.incidents.choices import (
    ACTIVE_STATUSES,
    EventKind,
    IncidentStatus,
    SeriousCategory,
    Severity,
)
from apps.incidents.models import Incident, IncidentEvent
from apps.inventory import selectors as inventory_selectors
from apps.inventory import services as inventory_services
from apps.inventory.models import ModelVersion, RegisteredModel
from apps.notifications.choices import Event
from apps.notifications.services import notify

AUDITED_FIELDS = (
    "reference",
    "model",
    "title",
    "severity",
    "status",
    "description",
    "impact",
    "root_cause",
    "corrective_actions",
    "threshold",
    "assignee",
    "detected_at",
    "awareness_at",
    "serious_category",
    "widespread",
    "reporting_deadline",
    "reported_at",
    "rollback_request",
    "resolved_at",
    "closed_at",
)
UPDATABLE_FIELDS = (
    "title",
    "description",
    "impact",
    "root_cause",
    "corrective_actions",
    "severity",
    "assignee",
    "serious_category",
    "widespread",
    "awareness_at",
    "reported_at",
)
TEXT_FIELDS = ("title", "description", "impact", "root_cause", "corrective_actions")

#: Severity of an incident opened by a critical breach, by the model's risk tier
#: (unassessed models count as Tier 1, as in the approval policy).
BREACH_SEVERITY = {1: Severity.SEV2, 2: Severity.SEV3, 3: Severity.SEV4}

REFERENCE_ATTEMPTS = 5


def _refuse(message: str, field: str | None = None) -> ApplicationError:
    return ApplicationError(message, field_errors={field: [message]} if field else None)


def _snapshot(incident: Incident) -> dict[str, Any]:
    return diff.snapshot(incident, AUDITED_FIELDS)


def _lock(incident: Incident) -> Incident:
    return (
        Incident.objects.select_for_update(of=("self",))
        .select_related("model", "threshold")
        .get(pk=incident.pk)
    )


def _event(
    incident: Incident, *, kind: str, actor=None, text: str = "", at=None, **extra
) -> IncidentEvent:
    return IncidentEvent.objects.create(
        incident=incident,
        kind=kind,
        actor=actor if getattr(actor, "pk", None) else None,
        at=at or clock.now(),
        text=text,
        **extra,
    )


def _recipients(model: RegisteredModel, *, exclude=None) -> list:
    """Who hears about a model's incidents: its owner, business owner and validator."""
    users = [model.owner, model.business_owner, model.validator]
    return [u for u in users if u is not None and u != exclude]


# --- references ----------------------------------------------------------------------------


def _next_reference(year: int) -> str:
    prefix = f"INC-{year}-"
    last = (
        Incident.objects.filter(reference__startswith=prefix)
        .order_by(Length("reference").desc(), "-reference")
        .values_list("reference", flat=True)
        .first()
    )
    number = int(last.removeprefix(prefix)) + 1 if last else 1
    return f"{prefix}{number:04d}"


def _insert(incident: Incident) -> None:
    """Save a new incident under the next free ``INC-<year>-<NNNN>``.

    The number is taken under the audit chain's lock, which every audited write takes
    anyway, so concurrent transactions allocate one after the other (and never wait on
    each other's reference in a different order). Should two still collide, the unique
    index lets one win and the other retry with the next number (a savepoint rolls back
    only the insert).
    """
    AuditChainHead.objects.select_for_update(of=("self",)).get_or_create(pk=1)
    year = timezone.localtime().year
    for _ in range(REFERENCE_ATTEMPTS):
        incident.reference = _next_reference(year)
        try:
            with transaction.atomic():
                incident.save(force_insert=True)
            return
        except IntegrityError:
            incident.pk = None
            if not Incident.objects.filter(reference=incident.reference).exists():
                raise  # another constraint, not the reference
    raise ApplicationError("Could not allocate an incident reference; try again.")


# --- serious incidents ---------------------------------------------------------------------


def _check_times(incident: Incident, now: dt.datetime) -> None:
    for name in ("detected_at", "awareness_at", "reported_at"):
        value = getattr(incident, name)
        if value is not None and value > now + dt.timedelta(minutes=5):
            raise _refuse("This time is in the future.", name)
    if (
        incident.reported_at
        and incident.awareness_at
        and incident.reported_at < (incident.awareness_at)
    ):
        raise _refuse("The report cannot precede the awareness time.", "reported_at")


def _apply_seriousness(incident: Incident, now: dt.datetime) -> None:
    """Validate the Art. 3(49) fields and recompute the Art. 73 deadline."""
    if incident.serious_category not in SeriousCategory.values:
        raise _refuse("Choose one of the Art. 3(49) categories.", "serious_category")
    if incident.widespread and not incident.serious_category:
        raise _refuse(
            "A widespread infringement is a serious incident: choose its Art. 3(49) category.",
            "serious_category",
        )
    if incident.serious_category and incident.awareness_at is None:
        # The reporting clock runs from awareness; marking it serious is becoming aware.
        incident.awareness_at = now
    if incident.reported_at and not incident.serious_category:
        raise _refuse("Only a serious incident is reported to the authority.", "reported_at")
    incident.reporting_deadline = deadlines.reporting_deadline(
        awareness_at=incident.awareness_at,
        category=incident.serious_category,
        widespread=incident.widespread,
    )
    _check_times(incident, now)


# --- creation ------------------------------------------------------------------------------


def _check_versions(model: RegisteredModel, versions: Iterable[ModelVersion]) -> list:
    versions = list(versions)
    if any(v.model_id != model.pk for v in versions):
        raise _refuse("Choose versions of this model.", "affected_versions")
    return versions


@transaction.atomic
def incident_create(
    *,
    actor,
    model: RegisteredModel,
    title: str,
    severity: str,
    description: str = "",
    detected_at: dt.datetime | None = None,
    serious_category: str = "",
    widespread: bool = False,
    awareness_at: dt.datetime | None = None,
    assignee=None,
    affected_versions: Iterable[ModelVersion] = (),
) -> Incident:
    """Open an incident by hand (something went wrong that no threshold caught)."""
    require_perm(actor, "incidents.add_incident", model)
    now = clock.now()
    versions = _check_versions(model, affected_versions)
    incident = Incident(
        reference="pending",
        model=model,
        title=(title or "").strip(),
        severity=severity,
        description=(description or "").strip(),
        detected_at=detected_at or now,
        serious_category=serious_category or "",
        widespread=bool(widespread),
        awareness_at=awareness_at,
        assignee=assignee,
        created_by=actor,
    )
    _apply_seriousness(incident, now)
    validate_instance(incident, exclude=["reference"])
    _insert(incident)
    if versions:
        incident.affected_versions.set(versions)
    _event(incident, kind=EventKind.CREATED, actor=actor, at=now, text=incident.title)
    audit_record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        obj=incident,
        model_ref=model.pk,
        changes={
            **diff.created(_snapshot(incident)),
            "affected_versions": {"before": None, "after": sorted(v.version for v in versions)},
        },
    )
    _notify_opened(incident, exclude=actor)
    return incident


def _notify_opened(incident: Incident, *, exclude=None) -> None:
    notify(
        recipients=_recipients(incident.model, exclude=exclude),
        event=Event.INCIDENT_OPENED,
        subject_text=f"Incident {incident.reference} opened on {incident.model.name}: "
        f"{incident.title}",
        link=incident.get_absolute_url(),
        payload={
            "incident": incident.reference,
            "model": incident.model.slug,
            "severity": incident.severity,
            "serious_category": incident.serious_category,
        },
    )


def _breach_text(breach) -> str:
    threshold = breach.threshold
    scope = f" ({threshold.segment})" if threshold.segment else ""
    return (
        f"{threshold.metric.name}{scope} of {breach.version.version} is "
        f"{breach.get_state_display().lower()}: {breach.value:g} "
        f"(warning {breach.warning_bound:g}, critical {breach.critical_bound:g}), "
        f"observed {breach.observed_at:%Y-%m-%d %H:%M} UTC."
    )


def incident_open_for_breach(*, breach) -> Incident:
    """A critical breach opens an incident for its threshold or joins the active one.

    Received from the evaluation's ``critical_breach_started`` signal (``receivers``) as the
    system (no actor), inside its transaction with the threshold locked, so two breaches of
    one threshold never open two incidents.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("incident_open_for_breach runs inside the evaluation's transaction")
    threshold = breach.threshold
    model = threshold.model
    incident = (
        Incident.objects.select_for_update(of=("self",))
        .filter(threshold=threshold, status__in=ACTIVE_STATUSES)
        .select_related("model")
        .first()
    )
    opened = incident is None
    if opened:
        bound = "below" if threshold.direction == "below" else "above"
        incident = Incident(
            reference="pending",
            model=model,
            title=f"{threshold.metric.name} {bound} its critical bound"
            + (f" ({threshold.segment})" if threshold.segment else ""),
            severity=BREACH_SEVERITY.get(model.risk_tier, Severity.SEV2),
            description=f"Opened by a critical breach of threshold #{threshold.pk}: {threshold}.",
            detected_at=breach.detected_at,
            threshold=threshold,
        )
        _insert(incident)
        _event(incident, kind=EventKind.CREATED, at=breach.detected_at, text=incident.title)
        audit_record(
            actor=None,
            action=AuditEvent.Action.CREATE,
            obj=incident,
            model_ref=model.pk,
            changes=diff.created(_snapshot(incident)),
            message=f"Opened by the critical breach #{breach.pk}.",
        )
    before = sorted(incident.affected_versions.values_list("version", flat=True))
    incident.affected_versions.add(breach.version)
    breach.incident = incident
    breach.save(update_fields=["incident"])
    _event(
        incident,
        kind=EventKind.BREACH,
        at=breach.detected_at,
        breach=breach,
        text=_breach_text(breach),
    )
    after = sorted({*before, breach.version.version})
    audit_record(
        actor=None,
        action=AuditEvent.Action.UPDATE,
        obj=incident,
        model_ref=model.pk,
        changes={
            "breaches": {"before": None, "after": breach.pk},
            **(
                {"affected_versions": {"before": before, "after": after}} if before != after else {}
            ),
        },
        message=f"Critical breach #{breach.pk} recorded.",
    )
    if opened:
        _notify_opened(incident)
    return incident


def incident_record_recovery(*, breach) -> IncidentEvent | None:
    """A breach ended: note the recovery on the threshold's active incident (never closes
    it: people decide when an incident is over). Received from the evaluation's
    ``breach_recovered`` signal, as the system."""
    incident = (
        Incident.objects.select_for_update(of=("self",))
        .filter(threshold_id=breach.threshold_id, status__in=ACTIVE_STATUSES)
        .first()
    )
    if incident is None:
        return None
    text = (
        f"{breach.threshold.metric.name} of {breach.version.version} is back within bounds "
        f"(breach #{breach.pk} ended)."
    )
    event = _event(incident, kind=EventKind.RECOVERY, at=breach.ended_at, breach=breach, text=text)
    audit_record(
        actor=None,
        action=AuditEvent.Action.UPDATE,
        obj=incident,
        model_ref=incident.model_id,
        changes={"recovered_breach": {"before": None, "after": breach.pk}},
        message=text,
    )
    return event


# --- updates -------------------------------------------------------------------------------


# Who may be assigned an incident: those who may work on it (``incidents.rules.responders``).
ASSIGNEE_ROLES = (roles.ADMIN, roles.VALIDATOR, roles.MODEL_OWNER)


def _check_assignee(user, incident: Incident) -> None:
    eligible = inventory_selectors.people_who_may_act(
        model=incident.model, acting_roles=ASSIGNEE_ROLES
    )
    if not eligible.filter(pk=user.pk).exists():
        raise _refuse(
            f"{user} cannot work on this incident: assign the model's owner or one of its "
            "developers, a validator or an administrator.",
            "assignee",
        )


@transaction.atomic
def incident_update(*, actor, incident: Incident, **data: Any) -> Incident:
    """Edit the details. The Art. 73 deadline is recomputed; an assignment and a report to
    the authority get their own timeline entries."""
    incident = _lock(incident)
    require_perm(actor, "incidents.change_incident", incident)
    reject_unknown_fields(data, UPDATABLE_FIELDS)
    assignee = data.get("assignee")
    if assignee is not None and assignee.pk != incident.assignee_id:
        _check_assignee(assignee, incident)
    now = clock.now()
    values = {}
    for name, value in data.items():
        if name in TEXT_FIELDS:
            value = (value or "").strip()
        elif name == "serious_category":
            value = value or ""
        values[name] = value
    incident, changes = audited_update(
        incident,
        actor=actor,
        data=values,
        fields=AUDITED_FIELDS,
        model_ref=incident.model_id,
        check=lambda _, incident: _apply_seriousness(incident, now),
        lock=False,
    )
    if "assignee" in changes:
        who = incident.assignee
        _event(
            incident,
            kind=EventKind.ASSIGNMENT,
            actor=actor,
            at=now,
            text=f"Assigned to {who}." if who else "Unassigned.",
        )
    if "reported_at" in changes and incident.reported_at:
        _event(
            incident,
            kind=EventKind.REPORTED,
            actor=actor,
            at=now,
            text=f"Reported to the market surveillance authority on "
            f"{timezone.localtime(incident.reported_at):%d %b %Y %H:%M}.",
        )
    other = sorted(set(changes) - {"assignee", "reported_at", "reporting_deadline"})
    if other:
        labels = [Incident._meta.get_field(n).verbose_name for n in other]
        _event(
            incident,
            kind=EventKind.UPDATE,
            actor=actor,
            at=now,
            text="Updated: " + ", ".join(labels) + ".",
            data={"fields": other},
        )
    return incident


@transaction.atomic
def incident_transition(*, actor, incident: Incident, status: str, note: str = "") -> Incident:
    """Move the incident along its workflow (see ``workflow``); resolving needs the root
    cause and the corrective actions recorded first."""
    incident = _lock(incident)
    require_perm(actor, "incidents.transition_incident", incident)
    current = incident.status
    try:
        workflow.check_transition(
            current=current,
            target=status,
            root_cause=incident.root_cause,
            corrective_actions=incident.corrective_actions,
        )
    except workflow.TransitionRefused as exc:
        raise _refuse(str(exc), "status") from exc
    if workflow.is_reopen(current, status) and incident.threshold_id:
        other = (
            Incident.objects.filter(threshold_id=incident.threshold_id, status__in=ACTIVE_STATUSES)
            .exclude(pk=incident.pk)
            .first()
        )
        if other is not None:
            raise _refuse(
                f"{other.reference} is already active for the same threshold; continue there.",
                "status",
            )
    now = clock.now()
    stamps = {}
    if status == IncidentStatus.RESOLVED:
        stamps = {"resolved_at": now}
    elif status == IncidentStatus.CLOSED:
        stamps = {"closed_at": now}
    elif workflow.is_reopen(current, status):
        stamps = {"resolved_at": None, "closed_at": None}
    audited_update(
        incident,
        actor=actor,
        data={"status": status, **stamps},
        fields=AUDITED_FIELDS,
        model_ref=incident.model_id,
        action=AuditEvent.Action.TRANSITION,
        message=(note or "").strip(),
        validate=False,
        lock=False,
    )
    _event(
        incident,
        kind=EventKind.STATUS,
        actor=actor,
        at=now,
        text=(note or "").strip(),
        from_status=current,
        to_status=status,
    )
    return incident


@transaction.atomic
def incident_comment(*, actor, incident: Incident, text: str) -> IncidentEvent:
    require_perm(actor, "incidents.comment_incident", incident)
    text = (text or "").strip()
    if not text:
        raise _refuse("Write a comment.", "text")
    # Lock the incident before the audit chain head, in the order every other incident write
    # takes them: otherwise the event's deferred foreign-key check waits at commit for an
    # update that is itself waiting for the head, and PostgreSQL aborts one as a deadlock.
    incident = _lock(incident)
    event = _event(incident, kind=EventKind.COMMENT, actor=actor, text=text)
    audit_record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        obj=event,
        model_ref=incident.model_id,
        changes={"incident": {"before": None, "after": incident.reference}},
        message=text,
    )
    return event


# --- emergency rollback --------------------------------------------------------------------


#: What a rollback signed at the identity provider is, for its pending signature in the
#: browser and an API client's signature challenge.
ROLLBACK_SIGNATURE_PURPOSE = "incident_rollback"


def rollback_signature(incident: Incident, *, plan=None) -> SignatureAttempt:
    """What a rollback's signature signs, for the audit event of a refused one (``plan``:
    the ``rollback_plan`` when it was read already)."""
    _, target = plan or selectors.rollback_plan(incident)
    return SignatureAttempt(
        obj=incident,
        model_ref=incident.model_id,
        description=f"the emergency rollback of {incident.reference} to "
        f"{target.version if target else 'an earlier version'}",
    )


def incident_rollback(
    *,
    actor,
    incident: Incident,
    reason: str,
    password: str = "",
    credential: signatures.Credential | None = None,
    expected_version: str = "",
    http_request=None,
) -> IncidentEvent:
    """Emergency change: re-promote the previous production version now, and ask for its
    ratification after the fact (approval kind ``emergency_change``).

    A production change made at once, so it is signed as an approval decision is: with
    ``credential`` (``apps.accounts.signatures``: a re-authentication at the identity
    provider, or a password) or the re-entered ``password``, checked by ``signatures.sign``
    outside any transaction (a wrong password stays counted toward the lockout, and any
    refusal stays audited as a failed signature; a locked account cannot sign), once the
    rollback is known to be allowed. ``expected_version`` is the version the actor saw
    offered: when the plan has changed since (another rollback, a promotion), nothing
    happens. What the rollback records (timeline, audit event, ratification request) states
    how it was signed.

    Returns the ROLLBACK timeline entry; ``incident.rollback_request`` names the request.
    """
    require_perm(actor, "incidents.rollback_incident", incident)
    reason = (reason or "").strip()
    current, target = selectors.rollback_plan(incident)
    signature = rollback_signature(incident, plan=(current, target))
    refusal = selectors.rollback_refusal(
        incident, current=current, target=target, expected_version=expected_version
    )
    with signatures.refused_before_signing(user=actor, credential=credential, signature=signature):
        if not reason:
            raise _refuse("Say why the model is rolled back.", "reason")
        if refusal:
            raise _refuse(refusal)
    proof = signatures.sign(
        user=actor,
        credential=credential,
        password=password,
        signature=signature,
        http_request=http_request,
    )
    return _rollback(
        actor=actor,
        incident=incident,
        reason=reason,
        expected_version=expected_version,
        proof=proof,
    )


@transaction.atomic
def _rollback(
    *,
    actor,
    incident: Incident,
    reason: str,
    expected_version: str,
    proof: signatures.SignatureProof,
) -> IncidentEvent:
    """The rollback itself, once ``incident_rollback`` has checked the signature (``proof``)."""
    incident = _lock(incident)
    require_perm(actor, "incidents.rollback_incident", incident)
    model = RegisteredModel.objects.select_for_update(of=("self",)).get(pk=incident.model_id)
    current, target = selectors.rollback_plan(incident)
    refusal = selectors.rollback_refusal(
        incident, current=current, target=target, expected_version=expected_version, model=model
    )
    if refusal:
        raise _refuse(refusal)
    signed = signatures.signed_note(actor, proof)
    inventory_services.promote_version(
        actor=actor,
        version=target,
        message=f"Emergency rollback from {current.version} ({incident.reference}): {reason} "
        + signatures.signed_text(actor, proof),
    )
    event = _event(
        incident,
        kind=EventKind.ROLLBACK,
        actor=actor,
        text=reason,
        data={
            "from_version": current.pk,
            "from": current.version,
            "to_version": target.pk,
            "to": target.version,
            "signature": signed,
            "signed": proof.describe(),
        },
    )
    request = approval_request_create(
        actor=actor, kind=ApprovalKind.EMERGENCY_CHANGE, subject=event, justification=reason
    )
    before = _snapshot(incident)
    incident.rollback_request = request
    incident.save(update_fields=["rollback_request", "updated_at"])
    incident.affected_versions.add(current)
    audit_record(
        actor=actor,
        action=AuditEvent.Action.UPDATE,
        obj=incident,
        model_ref=model.pk,
        changes={
            **diff.diff(before, _snapshot(incident)),
            "rollback": {"before": current.version, "after": target.version},
            "signature": {"before": None, "after": signed},
        },
        message=f"Emergency rollback to {target.version}, signed electronically by "
        f"{actor.get_username()} ({proof.describe()}); ratification requested "
        f"(request #{request.pk}). {reason}",
    )
    return event


def rollback_ratified(*, event: IncidentEvent, request, actor, ratified: bool) -> None:
    """Record the outcome of the after-the-fact approval on the incident's timeline.

    A refusal does not undo the rollback by itself (that would be a second unreviewed
    change): the model's team promotes a version through the ordinary promotion route.
    """
    incident = _lock(event.incident)
    if ratified:
        text = f"Emergency rollback to {event.data.get('to')} ratified (request #{request.pk})."
    else:
        text = (
            f"Emergency rollback to {event.data.get('to')} not ratified (request "
            f"#{request.pk}, {request.get_status_display().lower()}): {request.closing_note} "
            "Promote the right version through an ordinary promotion request."
        )
    _event(
        incident,
        kind=EventKind.ROLLBACK,
        actor=actor,
        text=text,
        data={"request": request.pk, "ratified": ratified, "rollback_event": event.pk},
    )
    audit_record(
        actor=actor,
        action=AuditEvent.Action.UPDATE,
        obj=incident,
        model_ref=incident.model_id,
        changes={"rollback_ratified": {"before": None, "after": ratified}},
        message=text,
    )
