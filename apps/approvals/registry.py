"""What each approval kind means: how to read the subject's content, the gates to check,
and the effect applied when the quorum is met. Apps register their kinds in ``ready()``.

Every request belongs to one governed model (``ApprovalRequest.model``). The app that owns
those models (the inventory) registers in ``ready()`` how the engine, the inbox and the API
reach them (``ModelHooks``: which a user sees, the rules' predicates about them) and the gates
that may block a request (``register_gate``), so the engine never imports the app above it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import models
from django.db.models import QuerySet


@dataclass(frozen=True)
class KindHandler:
    """Hooks of one approval kind.

    - ``load(subject_id)``: the subject, locked for update.
    - ``model_of(subject)``: the RegisteredModel it belongs to.
    - ``content(subject)``: the JSON-ready content to freeze and later compare.
    - ``title(subject)``: a one-line description for the inbox.
    - ``check(subject, actor, stage)``: raise ApplicationError when a gate refuses; ``stage`` is
      "request" or "approve".
    - ``apply(subject, request, actor)``: the effect once approved, inside the transaction.
    - ``on_closed(subject, request, actor)``: optional, when rejected or changes are requested.
    - ``needs_justification``: the requester must say why (e.g. retirement).
    - ``allows_prohibited_model``: requests about an EU-prohibited model are not refused
      outright (a risk-tier change may reclassify it); ``check`` still applies.
    - ``compare(subject)``: rows ``{"label", "current", "proposed"}`` showing what changes
      against what is in force now (e.g. old vs new bounds), for the approver's inbox.
    """

    load: Callable[[str], models.Model]
    model_of: Callable[[Any], models.Model]
    content: Callable[[Any], dict]
    title: Callable[[Any], str]
    apply: Callable[..., None]
    check: Callable[..., None] | None = None
    on_closed: Callable[..., None] | None = None
    needs_justification: bool = False
    allows_prohibited_model: bool = False
    compare: Callable[[Any], list[dict]] | None = None


_HANDLERS: dict[str, KindHandler] = {}


def register(kind: str, handler: KindHandler) -> None:
    _HANDLERS[kind] = handler


def handler_for(kind: str) -> KindHandler:
    try:
        return _HANDLERS[kind]
    except KeyError:
        raise LookupError(f"No approval handler registered for {kind!r}") from None


@dataclass(frozen=True)
class ModelHooks:
    """How approvals reach the governed models their requests belong to (the lookups take
    keyword arguments, as selectors do).

    - ``visible(user=)``: the models the user may see (requests are listed for those only).
    - ``get(user=, slug=)``: one model the user sees, or Http404.
    - ``versions(user=, model=)``: the model's versions the user sees (the request form's
      choices).
    - ``version_get(user=, model=, version=)``: one of them by its version string, or Http404.
    - ``can_see``, ``owns``, ``develops``, ``is_named_business_owner``: rules predicates
      ``(user, obj)`` about the model ``obj`` is or belongs to (an approval request belongs to
      its model); the approvals' permissions are made of them.
    - ``refusal(model)``: why no request about the model may ever be approved (an EU AI Act
      prohibited practice), or None; kinds with ``allows_prohibited_model`` skip it.
    - ``request_refusals(user=, model=, versions=)``: why each request the model page could
      offer (a version's validation and promotion, the model's retirement) would be refused
      now, ``{(kind, subject pk): reason or None}``, by the same rules as the kinds'
      checks, so that pages offer only requests the engine accepts.
    """

    visible: Callable[..., QuerySet]
    get: Callable[..., models.Model]
    versions: Callable[..., QuerySet]
    version_get: Callable[..., models.Model]
    can_see: Callable[[Any, Any], bool]
    owns: Callable[[Any, Any], bool]
    develops: Callable[[Any, Any], bool]
    is_named_business_owner: Callable[[Any, Any], bool]
    refusal: Callable[[Any], str | None]
    request_refusals: Callable[..., dict] | None = None


_MODEL_HOOKS: list[ModelHooks] = []


def register_models(hooks: ModelHooks) -> None:
    """Set the hooks of the governed models (one app owns them; registering again replaces)."""
    _MODEL_HOOKS[:] = [hooks]


def model_hooks() -> ModelHooks:
    try:
        return _MODEL_HOOKS[0]
    except IndexError:
        raise LookupError("No governed models are registered for approvals") from None


_GATES: dict[str, Callable[[Any], str | None]] = {}


def register_gate(gate: str, refusal: Callable[[Any], str | None]) -> None:
    """``refusal(model)`` says why ``gate`` (a ``GateOverride.Gate``) blocks the model now,
    or None; it takes an override in force into account."""
    _GATES[gate] = refusal


def gate_refusal(model) -> str | None:
    """Why a gate blocks the model now (the first registered gate that does), or None."""
    for refusal in _GATES.values():
        message = refusal(model)
        if message:
            return message
    return None
