"""The sign-offs of the scale inventory: approval requests in every state with their signed
decisions, as the approval engine leaves them.

Bulk path: each request's frozen content, title and required slots come from the engine's
own handlers and policy (``handler_for(kind).content`` / ``.title``, ``policy.required_slots``)
so a pending request is not stale and hashes as one made by ``approval_request_create``;
decisions are signed by people the four-eyes rule allows, with the engine's wording of what
the signature means; the audit trail gets the request, each decision and the closing, as the
engine records them.
"""

from __future__ import annotations

from datetime import timedelta

from apps.accounts.models import User
from apps.approvals import policy
from apps.approvals.choices import ApproverRole, RequestStatus, Verdict
from apps.approvals.content import content_sha256
from apps.approvals.models import ApprovalRequest, Decision
from apps.approvals.services import SLOT_LABELS
from apps.audit.models import AuditEvent
from apps.core import roles
from apps.demo.scale.content import content_and_title
from apps.demo.scale.context import Scale
from apps.demo.scale.inventory import Request

A = AuditEvent.Action
COMMENTS = {
    Verdict.REJECT: "The candidate does not beat the production version on the holdout.",
    Verdict.REQUEST_CHANGES: "Add the out-of-time evaluation and the fairness report.",
}
NOTES = {
    RequestStatus.WITHDRAWN: "Withdrawn: a corrected candidate will be submitted.",
    RequestStatus.STALE: "The content changed after the request was made.",
}


def write_requests(scale: Scale, requests: list[Request]) -> list[ApprovalRequest]:
    rng = scale.rng("approvals")
    validators = scale.by_role.get(roles.VALIDATOR, [])
    rows: list[ApprovalRequest] = []
    plans = []  # (row, request, decisions)
    users = {u.pk: u for u in User.objects.all()}
    for r in requests:
        content, title = content_and_title(r.kind, r.subject, scale.plan_by_id[r.model.pk], users)
        tier = r.model.risk_tier
        required = list(policy.required_slots(r.kind, tier))
        row = ApprovalRequest(
            kind=r.kind,
            model=r.model,
            subject_type=r.subject._meta.label_lower,
            subject_id=str(r.subject.pk),
            title=title[:300],
            justification=r.justification,
            content=content,
            content_sha256=content_sha256(content),
            tier_at_request=tier,
            required_slots=required,
            status=r.status,
            requested_by_id=r.requester_id,
            requested_at=r.at,
            closed_at=r.closed_at,
            closing_note=NOTES.get(
                r.status, "Quorum met." if r.status == RequestStatus.APPROVED else ""
            ),
        )
        excluded = {r.requester_id, r.model.owner_id, *r.model.developers_ids}
        decisions = []
        end = r.closed_at or min(r.at + timedelta(days=3), scale.now - timedelta(hours=1))
        if r.status == RequestStatus.APPROVED:
            slots = required
        elif r.status == RequestStatus.PENDING:
            slots = [s for s in required if s in r.signed][: max(0, len(required) - 1)]
        elif r.status in (RequestStatus.REJECTED, RequestStatus.CHANGES_REQUESTED):
            slots = required[:1]
        else:
            slots = []
        used = set()
        for k, slot in enumerate(slots):
            if slot == ApproverRole.BUSINESS_OWNER:
                approver = r.model.business_owner_id
            elif slot == ApproverRole.ADMIN:
                approver = rng.choice(scale.by_role[roles.ADMIN])
            else:
                choices = [v for v in validators if v not in excluded and v not in used]
                approver = r.validator_id if r.validator_id in choices else rng.choice(choices)
            used.add(approver)
            verdict = Verdict.APPROVE
            if r.status == RequestStatus.REJECTED:
                verdict = Verdict.REJECT
            elif r.status == RequestStatus.CHANGES_REQUESTED:
                verdict = Verdict.REQUEST_CHANGES
            at = r.at + (end - r.at) * (k + 1) / len(slots)
            decisions.append((slot, approver, verdict, at.replace(microsecond=0)))
        # What the engine keeps with each approval: the slots still open.
        approved = [slot for slot, _, verdict, _ in decisions if verdict == Verdict.APPROVE]
        row.open_slots = policy.open_slots(tuple(required), approved)
        # What the engine keeps with each approval: the slots still open.
        filled = policy.filled_slots((slot, verdict) for slot, _, verdict, _ in decisions)
        row.open_slots = policy.open_slots(tuple(required), filled)
        rows.append(row)
        plans.append((row, r, decisions))
    ApprovalRequest.objects.bulk_create(rows, batch_size=1000)
    decision_rows = []
    for row, r, decisions in plans:
        model_ref = r.model.pk
        scale.event(
            r.at,
            r.requester_id,
            A.CREATE,
            "approvals.approvalrequest",
            row.pk,
            str(row),
            model_ref=model_ref,
            changes={
                "kind": {"before": None, "after": row.kind},
                "subject": {"before": None, "after": f"{row.subject_type}:{row.subject_id}"},
                "content_sha256": {"before": None, "after": row.content_sha256},
                "required_slots": {"before": None, "after": row.required_slots},
            },
            message=row.justification,
        )
        last_actor = r.requester_id
        for slot, approver, verdict, at in decisions:
            name = scale.full_names.get(approver) or scale.names[approver]
            meaning = (
                f"{name} ({scale.names[approver]}), as {SLOT_LABELS[slot]}, signs to "
                f"{Verdict(verdict).label.lower()} \u201c{row.title}\u201d, content SHA-256 "
                f"{row.content_sha256}."
            )
            comment = COMMENTS.get(verdict, "")
            decision_rows.append(
                Decision(
                    request=row,
                    approver_id=approver,
                    slot=slot,
                    verdict=verdict,
                    comment=comment,
                    content_sha256=row.content_sha256,
                    meaning=meaning,
                    signed_at=at,
                )
            )
            scale.event(
                at,
                approver,
                A.DECIDE,
                "approvals.approvalrequest",
                row.pk,
                str(row),
                model_ref=model_ref,
                changes={
                    "verdict": {"before": None, "after": verdict},
                    "slot": {"before": None, "after": slot},
                    "content_sha256": {"before": None, "after": row.content_sha256},
                },
                message=meaning + (f" Comment: {comment}" if comment else ""),
            )
            last_actor = approver
        if r.status != RequestStatus.PENDING:
            actor = None if r.status == RequestStatus.STALE else last_actor
            scale.event(
                r.closed_at,
                actor,
                A.TRANSITION,
                "approvals.approvalrequest",
                row.pk,
                str(row),
                model_ref=model_ref,
                changes={"status": {"before": RequestStatus.PENDING, "after": r.status}},
                message=row.closing_note,
            )
        for hook in r.on_request:
            hook(row)
    Decision.objects.bulk_create(decision_rows, batch_size=2000)
    return rows
