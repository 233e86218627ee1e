"""Reads of approval requests, restricted to the models the user may see.

"Waiting for me", a request's page and the engine ask the same rules (``policy``) of the
same facts, read here: ``parties`` for four-eyes, ``eligible_slots`` and ``remaining_slots``
for the slots. On prefetched requests these read no further rows.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.apps import apps as django_apps
from django.db.models import (
    Exists,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
)
from django.http import Http404

from apps.approvals import policy
from apps.approvals.choices import ApproverRole, RequestStatus
from apps.approvals.content import content_sha256
from apps.approvals.models import ApprovalRequest, Decision, GateOverride
from apps.approvals.registry import handler_for, model_hooks
from apps.audit.chain import normalise
from apps.core import clock, roles


def request_list(*, user) -> QuerySet[ApprovalRequest]:
    """Requests about the models the user sees, newest first."""
    if not roles.roles_of(user):
        return ApprovalRequest.objects.none()
    visible = model_hooks().visible(user=user)
    requests = ApprovalRequest.objects.select_related("model", "requested_by")
    if not visible.query.has_filters():
        return requests  # the user sees every model: no need to ask the database
    return requests.filter(model__in=visible.values("pk"))


def _developers_through():
    return ApprovalRequest._meta.get_field("model").related_model.developers.through


def request_get(*, user, pk: int) -> ApprovalRequest:
    """One visible request with its decisions and their approvers, or 404.

    Whether the reader develops the request's model (the one fact about the developers the
    four-eyes rule needs for the reader) is read in the same query, as ``reader_develops``:
    the page never lists the developers."""
    develops = _developers_through().objects.filter(
        registeredmodel_id=OuterRef("model_id"), user_id=user.pk
    )
    request = (
        request_list(user=user)
        .annotate(reader_develops=Exists(develops))
        .prefetch_related(
            Prefetch("decisions", queryset=Decision.objects.select_related("approver"))
        )
        .filter(pk=pk)
        .first()
    )
    if request is None:
        raise Http404("No such approval request.")
    request.reader_id = user.pk  # whom ``reader_develops`` is about
    return request


def my_requests(*, user) -> QuerySet[ApprovalRequest]:
    return request_list(user=user).filter(requested_by=user)


def model_requests(*, user, model) -> QuerySet[ApprovalRequest]:
    return request_list(user=user).filter(model=model)


# --- who may decide (the policy's facts) -------------------------------------------------

DECIDE = "approvals.decide_approvalrequest"


def parties(
    request: ApprovalRequest, *, developers: frozenset[int] | None = None
) -> policy.Parties:
    """The requester, the model's owner and developers, and who has decided (from prefetched
    ``model__developers`` and ``decisions`` when there, else two queries). ``developers``
    may be given when known already (the inbox knows which of them is the reader)."""
    model = request.model
    if developers is None:
        developers = frozenset(user.pk for user in model.developers.all())
    return policy.Parties(
        requester=request.requested_by_id,
        owner=model.owner_id,
        developers=developers,
        deciders=frozenset(decision.approver_id for decision in request.decisions.all()),
    )


def eligible_slots(*, user, request: ApprovalRequest) -> list[str]:
    """Required slots this user could fill (four-eyes aside: see ``policy.four_eyes_refusal``)."""
    user_roles = roles.roles_of(user)
    return policy.eligible_slots(
        request.required_slots,
        business_owner=request.model.business_owner_id == user.pk,
        validator=roles.VALIDATOR in user_roles,
        admin=roles.ADMIN in user_roles,
    )


def filled_slots(request: ApprovalRequest) -> list[str]:
    return policy.filled_slots((d.slot, d.verdict) for d in request.decisions.all())


def remaining_slots(request: ApprovalRequest) -> list[str]:
    """Required slots no approval has filled yet."""
    return policy.open_slots(tuple(request.required_slots), filled_slots(request))


def _known_developers(*, user, request: ApprovalRequest) -> frozenset[int] | None:
    """The developers as far as the four-eyes rule asks about ``user``, when known without a
    query: all of them when the model's developers are prefetched (a rule may have needed
    them), else whether the reader is one (``request_get``'s ``reader_develops``); None when
    neither is at hand."""
    if "developers" in getattr(request.model, "_prefetched_objects_cache", {}):
        return None  # ``parties`` reads the prefetched list
    develops = getattr(request, "reader_develops", None)
    if develops is None or getattr(request, "reader_id", None) != user.pk:
        return None
    return frozenset({user.pk}) if develops else frozenset()


def decision_refusal(*, user, request: ApprovalRequest) -> str | None:
    """Why this user cannot decide the request now, or None: the request is closed, four-eyes,
    the rules' permission, or no capacity the request asks for."""
    if request.status != RequestStatus.PENDING:
        return f"This request is {request.get_status_display().lower()}; it is closed."
    known = _known_developers(user=user, request=request)
    refusal = policy.four_eyes_refusal(user.pk, parties(request, developers=known))
    if refusal:
        return refusal
    if not user.has_perm(DECIDE, request):
        return "You are not one of the approvers of this request."
    eligible = eligible_slots(user=user, request=request)
    if policy.signing_slot(eligible, remaining_slots(request), approving=False) is None:
        return "Your approval is not one this request needs."
    return None


def _is_open(slot: str) -> Q:
    """The request still needs an approval in ``slot`` (one of its ``open_slots``, read at
    each of the ``policy.MAX_SLOTS`` positions)."""
    return Q(*(Q(**{f"open_slots__{i}": slot}) for i in range(policy.MAX_SLOTS)), _connector=Q.OR)


def waiting_q(*, user) -> Q | None:
    """The condition, over a user's visible requests, of those waiting for the user; None
    when nothing can (no role, or no permission to decide). See ``waiting_queryset``."""
    user_roles = roles.roles_of(user)
    if not user_roles or not user.has_perm(DECIDE):
        return None
    developers = _developers_through()
    develops = developers.objects.filter(registeredmodel_id=OuterRef("model_id"), user_id=user.pk)
    decided = Decision.objects.filter(request=OuterRef("pk"), approver=user.pk)
    slot_open = Q(model__business_owner=user.pk) & _is_open(ApproverRole.BUSINESS_OWNER)
    if roles.VALIDATOR in user_roles:
        slot_open |= _is_open(ApproverRole.VALIDATOR)
    if roles.ADMIN in user_roles:
        slot_open |= _is_open(ApproverRole.ADMIN)
    return (
        Q(status=RequestStatus.PENDING)
        & ~Q(requested_by=user.pk)
        & ~Q(model__owner=user.pk)
        & slot_open
        & ~Exists(develops)
        & ~Exists(decided)
    )


def waiting_queryset(*, user) -> QuerySet[ApprovalRequest]:
    """Pending requests this user could approve now, oldest first, decided in the database:
    the same rules as ``policy.four_eyes_refusal`` and ``policy.signing_slot`` (approving),
    so the inbox, its count and the navigation badge read one indexed query.

    Four-eyes: not the requester, the model's owner or a developer, and not one who has
    decided already. A slot: the business-owner slot among the request's ``open_slots``
    (which the engine keeps with each approval) for the model's named business owner, the
    validator or administrator slot for those roles. (The rules' object permission for a
    business owner is that slot test.)"""
    waiting = waiting_q(user=user)
    if waiting is None:
        return ApprovalRequest.objects.none()
    return request_list(user=user).filter(waiting).order_by("requested_at", "pk")


def waiting_filter(
    waiting: QuerySet[ApprovalRequest], *, kind: str = "", model_name: str = ""
) -> QuerySet[ApprovalRequest]:
    """The inbox's filters: a kind, and words of the model's name (a plain text search,
    so the filter never lists the inventory)."""
    if kind:
        waiting = waiting.filter(kind=kind)
    if model_name:
        waiting = waiting.filter(model__name__icontains=model_name)
    return waiting


def waiting_for(*, user) -> list[ApprovalRequest]:
    """Pending requests this user could approve now, oldest first, with their decisions."""
    return list(waiting_queryset(user=user).prefetch_related("decisions"))


def waiting_count(*, user) -> int:
    """How many requests wait for the user (the navigation badge): one count query."""
    return waiting_queryset(user=user).count()


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


_SUBJECT = "_subject_read"  # where ``subject_of`` keeps the subject on the request object


def _governed_model_class():
    return ApprovalRequest._meta.get_field("model").related_model


def _references(obj):
    """The fields by which ``obj`` (an object or its class) refers to one other object
    (foreign keys, one-to-ones)."""
    return [f for f in obj._meta.concrete_fields if f.many_to_one or f.one_to_one]


def _put_model_in_place(obj, model) -> None:
    """Give ``obj`` the request's governed model object wherever it refers to that very model
    (its own reference, and those of the objects read with it), so the kind's ``content`` and
    ``compare`` never read the model again."""
    for field in _references(obj):
        if field.related_model is type(model):
            if getattr(obj, field.attname) == model.pk:
                field.set_cached_value(obj, model)
        elif field.is_cached(obj) and (related := field.get_cached_value(obj)) is not None:
            for inner in _references(related):
                if (
                    inner.related_model is type(model)
                    and getattr(related, inner.attname) == model.pk
                ):
                    inner.set_cached_value(related, model)


def subject_of(request: ApprovalRequest):
    """The subject as it is now (or None when it is gone), read without locking (pages only
    read it) and once per request object: the staleness check and the comparison share it.

    The subject comes with the objects it refers to directly (one query), and with the
    request's model (read with the request) in place of its own reference to it; a request
    about a model itself (a retirement) reads nothing more."""
    if _SUBJECT in request.__dict__:
        return request.__dict__[_SUBJECT]
    model_class = django_apps.get_model(request.subject_type)
    governed = _governed_model_class()
    model = request.model if ApprovalRequest.model.is_cached(request) else None
    if model is not None and model_class is governed and str(model.pk) == request.subject_id:
        subject = model
    else:
        related = [
            field.name
            for field in _references(model_class)
            if not (model is not None and field.related_model is governed)
        ]
        subject = (
            model_class._default_manager.select_related(*related)
            .filter(pk=request.subject_id)
            .first()
        )
        if subject is not None and model is not None:
            _put_model_in_place(subject, model)
    request.__dict__[_SUBJECT] = subject
    return subject


#: Why a request whose subject changed since it was made cannot be signed (the engine says the
#: same when it refuses one).
STALE_REFUSAL = (
    "The content changed since this request was made, so it is stale and cannot be "
    "approved; the requester must ask again."
)


def signing_refusal(*, user, request: ApprovalRequest) -> str | None:
    """Why the engine would refuse this user's decision now (``decision_refusal``, or the
    request gone stale), or None: asked before a signature that takes the person away (to the
    identity provider), so a refusal is said before they go, not after."""
    refusal = decision_refusal(user=user, request=request)
    if refusal is None and is_stale(request):
        return STALE_REFUSAL
    return refusal


def is_stale(request: ApprovalRequest) -> bool:
    """True when the subject's content no longer matches what was frozen (or it is gone)."""
    if request.status == RequestStatus.STALE:
        return True
    if request.status != RequestStatus.PENDING:
        return False
    subject = subject_of(request)
    if subject is None:
        return True
    content = normalise(handler_for(request.kind).content(subject))
    return content_sha256(content) != request.content_sha256


def compare_rows(request: ApprovalRequest) -> list[dict]:
    """What the request changes against what is in force now, per the kind's ``compare``."""
    try:
        handler = handler_for(request.kind)
    except LookupError:
        return []
    if handler.compare is None:
        return []
    subject = subject_of(request)
    return handler.compare(subject) if subject is not None else []


def active_gate_override(*, model, gate: str) -> GateOverride | None:
    """The override of ``gate`` in force for the model now (the latest lifted), or None."""
    return (
        GateOverride.objects.filter(model=model, gate=gate, expires_at__gt=clock.now())
        .order_by("-lifted_at")
        .first()
    )


def gate_override_list(*, model) -> QuerySet[GateOverride]:
    return GateOverride.objects.filter(model=model).select_related("lifted_by")
