"""Approval-engine signals turned into notifications.

A new request tells the people who could fill its open approval slots; a decision tells the
requester, and settles the others' requests to approve once the request is closed. Both run
inside the engine's transaction, so nothing is sent if it rolls back.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.dispatch import receiver
from django.urls import NoReverseMatch

from apps.approvals import policy, selectors, signals
from apps.approvals.choices import ApproverRole
from apps.approvals.models import ApprovalRequest
from apps.core import roles
from apps.notifications.choices import Event
from apps.notifications.services import notifications_settle, notify


def _link(request: ApprovalRequest) -> str:
    try:
        return request.get_absolute_url()
    except NoReverseMatch:  # the approvals pages are not mounted (yet)
        return request.model.get_absolute_url()


def _users_with_role(role: str):
    return get_user_model().objects.filter(groups__name=role, is_active=True)


def approvers_for(request: ApprovalRequest) -> list:
    """Who can fill the request's open slots, minus those four-eyes rules out."""
    model = request.model
    candidates: dict[int, object] = {}
    for slot in selectors.remaining_slots(request):
        if slot == ApproverRole.BUSINESS_OWNER:
            people = [model.business_owner]
        elif slot == ApproverRole.VALIDATOR:
            # The model's named validator first; without one, every validator may pick it up.
            people = [model.validator] if model.validator_id else _users_with_role(roles.VALIDATOR)
        else:
            people = _users_with_role(roles.ADMIN)
        for person in people:
            candidates.setdefault(person.pk, person)
    parties = selectors.parties(request)
    return [u for pk, u in candidates.items() if policy.four_eyes_refusal(pk, parties) is None]


def _payload(request: ApprovalRequest) -> dict:
    return {
        "request_id": request.pk,
        "kind": request.kind,
        "model": request.model.slug,
        "title": request.title,
        "status": request.status,
        "content_sha256": request.content_sha256,
    }


@receiver(signals.approval_requested, dispatch_uid="notifications.approval_requested")
def on_approval_requested(sender, request: ApprovalRequest, **kwargs) -> None:
    notify(
        recipients=approvers_for(request),
        event=Event.APPROVAL_REQUESTED,
        subject_text=f"Approval requested by {request.requested_by}: {request.title}",
        link=_link(request),
        payload=_payload(request),
    )


@receiver(signals.approval_decided, dispatch_uid="notifications.approval_decided")
def on_approval_decided(sender, request: ApprovalRequest, decision, **kwargs) -> None:
    notify(
        recipients=[request.requested_by],
        event=Event.APPROVAL_DECIDED,
        subject_text=(
            f"{decision.approver} decided \u201c{decision.get_verdict_display()}\u201d on "
            f"{request.title} (now {request.get_status_display().lower()})"
        ),
        link=_link(request),
        payload={
            **_payload(request),
            "verdict": decision.verdict,
            "approver": decision.approver.get_username(),
        },
    )
    if not request.is_open:
        # Decided: those asked to approve it have nothing left to do.
        notifications_settle(event=Event.APPROVAL_REQUESTED, link=_link(request))
    else:
        # The approver who just decided has done their part.
        notifications_settle(
            event=Event.APPROVAL_REQUESTED, link=_link(request), recipients=[decision.approver_id]
        )
        # Still pending: tell whoever can fill the remaining slots that it is their turn.
        remaining = [u for u in approvers_for(request) if u.pk != request.requested_by_id]
        if remaining:
            notify(
                recipients=remaining,
                event=Event.APPROVAL_REQUESTED,
                subject_text=f"Your approval is awaited: {request.title}",
                link=_link(request),
                payload=_payload(request),
            )
