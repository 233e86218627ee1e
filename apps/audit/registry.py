"""How the audit trail names what its events refer to, registered by the apps that own those
objects in their ``AppConfig.ready()`` (as the model-page tabs in apps/core/tabs.py and the
approval kinds in apps/approvals/registry.py are), so the audit app imports none of them.

- *Change fields*: a change stored under a field name such as ``"business_unit"`` holds ids;
  the owning app says how to turn a page's worth of them into names (the audit log page, the
  model's History tab and the audit extract show names, not ids).
- *The model reference*: an event's ``model_ref`` is the primary key of the registered model
  it is about; the owning app says how to read the slugs of some refs and the refs of a slug
  (the audit-event API shows and filters by slug).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class FieldNames:
    """How to name the ids a change field holds.

    - ``names(ids)``: ``{id: name}`` of those that still exist, in one query.
    - ``missing``: the word an id no longer found is shown with (``"unit"`` → ``"unit #7"``).
    """

    names: Callable[[set[int]], dict[int, str]]
    missing: str


@dataclass(frozen=True)
class ModelReference:
    """How to read the ``model_ref`` of events.

    - ``slugs(refs)``: ``{ref: slug}`` of the models still there, in one query.
    - ``refs(slug)``: the refs of the model with that slug, as a query usable in
      ``model_ref__in`` (nothing when no model has the slug: deleted or never existed).
    """

    slugs: Callable[[set[int]], dict[int, str]]
    refs: Callable[[str], Any]


_FIELDS: dict[str, FieldNames] = {}
_model_reference: ModelReference | None = None


def register_field_names(field: str, names: FieldNames) -> None:
    """Name the ids stored under the change field ``field``. Registering again replaces it
    (``ready()`` may run twice in tests)."""
    _FIELDS[field] = names


def field_names() -> dict[str, FieldNames]:
    """Every registered change field and how its ids are named."""
    return dict(_FIELDS)


def register_model_reference(reference: ModelReference) -> None:
    """Say how events' ``model_ref`` resolve; one app owns it, registering again replaces it."""
    global _model_reference
    _model_reference = reference


def model_reference() -> ModelReference:
    if _model_reference is None:
        raise LookupError("No app registered how audit events' model_ref resolve.")
    return _model_reference
