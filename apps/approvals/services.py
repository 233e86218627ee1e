"""The approval engine: request, decide (four-eyes, electronic signature), staleness, effects.

Every sign-off in mlgov goes through here. A request freezes the subject's content; the
quorum comes from ``policy``; when it is met the kind's effect is applied in the same
transaction as the last decision, and everything is audited.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction

from apps.accounts import signatures
from apps.accounts.services import SignatureAttempt
from apps.approvals import policy, selectors, signals
from apps.approvals.choices import ApproverRole, RequestStatus, Verdict
from apps.approvals.content import content_sha256
from apps.approvals.models import ApprovalRequest, Decision, GateOverride
from apps.approvals.registry import handler_for, model_hooks
from apps.audit.chain import normalise
from apps.audit.models import AuditEvent
from apps.audit.services import audit_record, audited_update
from apps.core import clock
from apps.core.errors import ApplicationError
from apps.core.services import require_perm

SLOT_LABELS = dict(ApproverRole.choices)

#: The refusal of a second request for what already waits (pages that offer requests say
#: it too, see ``ModelHooks.request_refusals``).
ALREADY_WAITING = "A request for this is already waiting for approval."


def _subject_key(subject) -> tuple[str, str]:
    return subject._meta.label_lower, str(subject.pk)


def _refuse(message: str, field: str | None = None) -> ApplicationError:
    return ApplicationError(message, field_errors={field: [message]} if field else None)


def _refuse_prohibited(model) -> None:
    refusal = model_hooks().refusal(model)
    if refusal:
        raise _refuse(refusal)


@transaction.atomic
def approval_request_create(
    *, actor, kind: str, subject, justification: str = ""
) -> ApprovalRequest:
    """Freeze the subject's current content and ask the approvers the policy names."""
    handler = handler_for(kind)
    subject = handler.load(str(subject.pk))
    model = handler.model_of(subject)
    require_perm(actor, "approvals.add_approvalrequest", model)
    if not handler.allows_prohibited_model:
        _refuse_prohibited(model)
    if handler.needs_justification and not justification.strip():
        raise _refuse("Say why this is requested.", "justification")
    if handler.check:
        handler.check(subject=subject, actor=actor, stage="request")
    subject_type, subject_id = _subject_key(subject)
    pending = ApprovalRequest.objects.filter(
        kind=kind, subject_type=subject_type, subject_id=subject_id, status=RequestStatus.PENDING
    ).exists()
    if pending:
        raise _refuse(ALREADY_WAITING)
    content = normalise(handler.content(subject))
    request = ApprovalRequest.objects.create(
        kind=kind,
        model=model,
        subject_type=subject_type,
        subject_id=subject_id,
        title=handler.title(subject)[:300],
        justification=justification.strip(),
        content=content,
        content_sha256=content_sha256(content),
        tier_at_request=model.risk_tier,
        required_slots=list(policy.required_slots(kind, model.risk_tier)),
        open_slots=list(policy.required_slots(kind, model.risk_tier)),
        requested_by=actor,
        requested_at=clock.now(),
    )
    audit_record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        obj=request,
        model_ref=model.pk,
        changes={
            "kind": {"before": None, "after": kind},
            "subject": {"before": None, "after": f"{subject_type}:{subject_id}"},
            "content_sha256": {"before": None, "after": request.content_sha256},
            "required_slots": {"before": None, "after": request.required_slots},
        },
        message=request.justification,
    )
    signals.approval_requested.send(sender=ApprovalRequest, request=request)
    return request


def _current_content_sha256(request: ApprovalRequest) -> str:
    """The subject's content hash now, read through the kind's ``load``, which locks the
    subject: part of deciding, not a read for pages (``selectors.is_stale`` is that)."""
    handler = handler_for(request.kind)
    subject = handler.load(request.subject_id)
    return content_sha256(normalise(handler.content(subject)))


def _close(request: ApprovalRequest, *, actor, status: str, note: str = "") -> None:
    """Close a pending request (the callers hold its lock)."""
    audited_update(
        request,
        actor=actor,
        data={"status": status, "closed_at": clock.now(), "closing_note": note},
        fields=("status",),
        model_ref=request.model_id,
        action=AuditEvent.Action.TRANSITION,
        message=note,
        validate=False,
        lock=False,
        update_fields=["status", "closed_at", "closing_note"],
    )


@transaction.atomic
def approval_requests_invalidate(*, actor, subject, reason: str = "") -> int:
    """Mark pending requests about ``subject`` stale whose frozen content no longer matches.

    Services call this after changing a subject that may be awaiting approval.
    """
    subject_type, subject_id = _subject_key(subject)
    stale = 0
    for request in ApprovalRequest.objects.select_for_update(of=("self",)).filter(
        subject_type=subject_type, subject_id=subject_id, status=RequestStatus.PENDING
    ):
        if _current_content_sha256(request) != request.content_sha256:
            _close(
                request,
                actor=actor,
                status=RequestStatus.STALE,
                note=reason or "The content changed after the request; request approval again.",
            )
            stale += 1
    return stale


#: What a decision signed at the identity provider is, for its pending signature in the
#: browser and an API client's signature challenge.
SIGNATURE_PURPOSE = "approval_decision"


def signature_attempt(request: ApprovalRequest) -> SignatureAttempt:
    """What a signature on ``request`` signs, for the audit event of a failure."""
    return SignatureAttempt(
        obj=request,
        model_ref=request.model_id,
        description=f"approval request #{request.pk} \u201c{request.title}\u201d",
    )


def approval_decide(
    *,
    actor,
    request: ApprovalRequest,
    verdict: str,
    password: str = "",
    credential: signatures.Credential | None = None,
    content_sha256: str = "",
    comment: str = "",
    http_request=None,
) -> Decision:
    """Record a signed decision. A stale request is closed as stale and refused.

    The signature is ``credential`` (``apps.accounts.signatures``: a re-authentication at
    the identity provider, or a password), or the re-entered ``password``. The staleness
    check runs in its own transaction (loading the subject locks it, which PostgreSQL refuses
    in autocommit) so that the request stays marked stale after the refusal. The signature is
    checked outside any transaction, so a wrong password stays counted toward the account's
    lockout, and any refusal stays audited as a failed signature, though nothing is signed;
    a locked account cannot sign. ``content_sha256``, when given, is the content the signer
    saw: a request whose content is not that any more is refused. ``http_request`` gives the
    password check the client's address and agent.
    """
    with transaction.atomic():
        request = ApprovalRequest.objects.select_related("model").get(pk=request.pk)
        require_perm(actor, "approvals.decide_approvalrequest", request)
        stale = request.status == RequestStatus.PENDING and (
            _current_content_sha256(request) != request.content_sha256
        )
        if stale:
            approval_requests_invalidate(
                actor=actor, subject=handler_for(request.kind).load(request.subject_id)
            )
    if stale:
        raise _refuse(selectors.STALE_REFUSAL)
    if content_sha256 and content_sha256 != request.content_sha256:
        raise _refuse(
            "This request is not the content you saw when you began signing; nothing was "
            "signed. Read it again and sign again."
        )
    proof = signatures.sign(
        user=actor,
        credential=credential,
        password=password,
        signature=signature_attempt(request),
        http_request=http_request,
    )
    return _decide(actor=actor, request=request, verdict=verdict, comment=comment, proof=proof)


@transaction.atomic
def _decide(
    *, actor, request, verdict: str, comment: str, proof: signatures.SignatureProof
) -> Decision:
    """The decision itself, once ``approval_decide`` has checked the signature (``proof``)."""
    request = (
        ApprovalRequest.objects.select_for_update(of=("self",))
        .select_related("model")
        .get(pk=request.pk)
    )
    if request.status != RequestStatus.PENDING:
        raise _refuse(f"This request is {request.get_status_display().lower()}; it is closed.")
    if verdict not in Verdict.values:
        raise _refuse("Choose approve, reject or request changes.", "verdict")
    if verdict != Verdict.APPROVE and not comment.strip():
        raise _refuse("Say why: a comment is required to reject or request changes.", "comment")
    refusal = policy.four_eyes_refusal(actor.pk, selectors.parties(request))
    if refusal:
        raise _refuse(refusal)
    eligible = selectors.eligible_slots(user=actor, request=request)
    remaining = selectors.remaining_slots(request)
    slot = policy.signing_slot(eligible, remaining, approving=verdict == Verdict.APPROVE)
    if slot is None:
        needed = ", ".join(SLOT_LABELS[s] for s in remaining) or "nobody else"
        raise _refuse(f"Your approval is not one this request needs (still needed: {needed}).")
    handler = handler_for(request.kind)
    subject = handler.load(request.subject_id)
    if verdict == Verdict.APPROVE:
        if not handler.allows_prohibited_model:
            _refuse_prohibited(request.model)
        if handler.check:
            handler.check(subject=subject, actor=actor, stage="approve")
    meaning = (
        f"{actor.get_full_name() or actor.get_username()} ({actor.get_username()}), as "
        f"{SLOT_LABELS[slot]}, signs to {Verdict(verdict).label.lower()} "
        f"\u201c{request.title}\u201d, content SHA-256 {request.content_sha256}."
    )
    decision = Decision.objects.create(
        request=request,
        approver=actor,
        slot=slot,
        verdict=verdict,
        comment=comment.strip(),
        content_sha256=request.content_sha256,
        meaning=meaning,
        signed_at=clock.now(),
        signature_method=proof.method,
        signature_issuer=proof.issuer,
        signature_auth_time=proof.auth_time,
    )
    audit_record(
        actor=actor,
        action=AuditEvent.Action.DECIDE,
        obj=request,
        model_ref=request.model_id,
        changes={
            "verdict": {"before": None, "after": verdict},
            "slot": {"before": None, "after": slot},
            "content_sha256": {"before": None, "after": request.content_sha256},
            "signature": {"before": None, "after": proof.note()},
        },
        message=f"{meaning} Signed: {proof.describe()}."
        + (f" Comment: {decision.comment}" if decision.comment else ""),
    )
    if verdict == Verdict.APPROVE:
        # Kept with the decision, so "waiting for me" reads the request alone.
        request.open_slots = selectors.remaining_slots(request)
        request.save(update_fields=["open_slots"])
    if verdict == Verdict.REJECT:
        _close(request, actor=actor, status=RequestStatus.REJECTED, note=decision.comment)
    elif verdict == Verdict.REQUEST_CHANGES:
        _close(request, actor=actor, status=RequestStatus.CHANGES_REQUESTED, note=decision.comment)
    elif not selectors.remaining_slots(request):
        handler.apply(subject=subject, request=request, actor=actor)
        _close(request, actor=actor, status=RequestStatus.APPROVED, note="Quorum met.")
    closed_unapproved = (RequestStatus.REJECTED, RequestStatus.CHANGES_REQUESTED)
    if request.status in closed_unapproved and handler.on_closed:
        handler.on_closed(subject=subject, request=request, actor=actor)
    signals.approval_decided.send(sender=ApprovalRequest, request=request, decision=decision)
    return decision


@transaction.atomic
def approval_withdraw(*, actor, request: ApprovalRequest, reason: str = "") -> ApprovalRequest:
    """The requester (or an administrator) withdraws a pending request."""
    request = ApprovalRequest.objects.select_for_update(of=("self",)).get(pk=request.pk)
    require_perm(actor, "approvals.withdraw_approvalrequest", request)
    if request.status != RequestStatus.PENDING:
        raise _refuse("Only a pending request can be withdrawn.")
    _close(request, actor=actor, status=RequestStatus.WITHDRAWN, note=reason.strip())
    return request


# --- gates -------------------------------------------------------------------------------


@transaction.atomic
def gate_lift(*, actor, model, gate: str, reason: str, days: int = 30) -> GateOverride:
    """An administrator lifts a gate for a limited time, with a reason. Audited."""
    require_perm(actor, "approvals.lift_gate", model)
    if not reason.strip():
        raise _refuse("Give the reason for lifting the gate.", "reason")
    if gate not in GateOverride.Gate.values:
        raise _refuse(f"Unknown gate {gate!r}.", "gate")
    if not 1 <= days <= 90:
        raise _refuse("An override lasts between 1 and 90 days.", "days")
    now = clock.now()
    override = GateOverride.objects.create(
        model=model,
        gate=gate,
        reason=reason.strip(),
        lifted_by=actor,
        lifted_at=now,
        expires_at=now + timedelta(days=days),
    )
    audit_record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        obj=override,
        model_ref=model.pk,
        changes={
            "gate": {"before": None, "after": gate},
            "expires_at": {"before": None, "after": override.expires_at},
        },
        message=override.reason,
    )
    return override
