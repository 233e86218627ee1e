"""What each approval kind means: how to read the subject's content, the gates to check,
and the effect applied when the quorum is met. Apps register their kinds in ``ready()``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import models


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
