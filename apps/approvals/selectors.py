"""Reads of approval requests, restricted to the models the user may see.

"Waiting for me" mirrors the engine's rules (``services.eligible_slots``, ``policy.open_slots``
and ``services.four_eyes_refusal``) without a query per request: the four-eyes exclusions are
SQL, the open-slot check runs on prefetched decisions.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.apps import apps as django_apps
from django.db.models import Exists, OuterRef, Prefetch, QuerySet
from django.http import Http404

from apps.accounts import roles
from apps.approvals import policy, services
from apps.approvals.choices import ApproverRole, RequestStatus
from apps.approvals.models import ApprovalRequest, Decision, GateOverride
from apps.approvals.registry import handler_for
from apps.audit.chain import normalise
from apps.inventory import selectors as inventory_selectors
from apps.inventory.models import RegisteredModel


def request_list(*, user) -> QuerySet[ApprovalRequest]:
    """Requests about the models the user sees, newest first."""
    if not roles.roles_of(user):
        return ApprovalRequest.objects.none()
    visible = inventory_selectors.model_list(user=user).values("pk")
    return ApprovalRequest.objects.filter(model__in=visible).select_related("model", "requested_by")


def request_get(*, user, pk: int) -> ApprovalRequest:
    """One visible request with its decisions, or 404."""
    request = (
        request_list(user=user)
        .prefetch_related(
            Prefetch("decisions", queryset=Decision.objects.select_related("approver")),
            "model__developers",
        )
        .filter(pk=pk)
        .first()
    )
    if request is None:
        raise Http404("No such approval request.")
    return request


def my_requests(*, user) -> QuerySet[ApprovalRequest]:
    return request_list(user=user).filter(requested_by=user)


def model_requests(*, user, model: RegisteredModel) -> QuerySet[ApprovalRequest]:
    return request_list(user=user).filter(model=model)


def _waiting_candidates(*, user) -> QuerySet[ApprovalRequest]:
    """Pending requests the user may decide on, four-eyes exclusions applied in SQL."""
    if not user.has_perm("approvals.decide_approvalrequest"):
        return ApprovalRequest.objects.none()
    developed = RegisteredModel.developers.through.objects.filter(
        registeredmodel_id=OuterRef("model_id"), user_id=user.pk
    )
    decided = Decision.objects.filter(request_id=OuterRef("pk"), approver_id=user.pk)
    return (
        request_list(user=user)
        .filter(status=RequestStatus.PENDING)
        .exclude(requested_by=user)
        .exclude(model__owner=user)
        .exclude(Exists(developed))
        .exclude(Exists(decided))
        .prefetch_related("decisions")
    )


def _fills_open_slot(*, user, request: ApprovalRequest) -> bool:
    eligible = services.eligible_slots(user=user, request=request)
    remaining = policy.open_slots(tuple(request.required_slots), services.filled_slots(request))
    return any(slot in remaining for slot in eligible)


def waiting_for(*, user) -> list[ApprovalRequest]:
    """Pending requests this user could approve now, oldest first (a constant number of
    queries: the requests with their models and requesters, and their decisions)."""
    if not roles.roles_of(user):
        return []
    candidates = _waiting_candidates(user=user)
    # Containment lookups on JSON lists are not portable (SQLite), so the slot test runs on
    # the prefetched rows; the candidates are already few (pending, not mine, undecided).
    return [
        request
        for request in candidates.order_by("requested_at")
        if _fills_open_slot(user=user, request=request)
    ]


def waiting_count(*, user) -> int:
    return len(waiting_for(user=user))


# --- what an approver reads --------------------------------------------------------------


@dataclass(frozen=True)
class SlotRow:
    slot: str
    label: str
    filled_by: Decision | None


def slot_rows(request: ApprovalRequest) -> list[SlotRow]:
    """Required slots with the approval that filled each (decisions must be prefetched)."""
    labels = dict(ApproverRole.choices)
    approvals = [d for d in request.decisions.all() if d.verdict == "approve"]
    rows = []
    for slot in request.required_slots:
        match = next((d for d in approvals if d.slot == slot), None)
        if match is not None:
            approvals.remove(match)
        rows.append(SlotRow(slot=slot, label=labels.get(slot, slot), filled_by=match))
    return rows


def _subject(request: ApprovalRequest):
    """The subject as it is now, read without locking (pages only read it)."""
    model_class = django_apps.get_model(request.subject_type)
    return model_class._default_manager.filter(pk=request.subject_id).first()


def is_stale(request: ApprovalRequest) -> bool:
    """True when the subject's content no longer matches what was frozen (or it is gone)."""
    if request.status == RequestStatus.STALE:
        return True
    if request.status != RequestStatus.PENDING:
        return False
    subject = _subject(request)
    if subject is None:
        return True
    content = normalise(handler_for(request.kind).content(subject))
    return services.content_sha256(content) != request.content_sha256


def compare_rows(request: ApprovalRequest) -> list[dict]:
    """What the request changes against what is in force now, per the kind's ``compare``."""
    try:
        handler = handler_for(request.kind)
    except LookupError:
        return []
    if handler.compare is None:
        return []
    subject = _subject(request)
    return handler.compare(subject) if subject is not None else []


def gate_override_list(*, model: RegisteredModel) -> QuerySet[GateOverride]:
    return GateOverride.objects.filter(model=model).select_related("lifted_by")
