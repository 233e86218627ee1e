"""How the audit trail names what its events refer to, registered by the apps that own those
objects in their ``AppConfig.ready()`` (as the model-page tabs in apps/core/tabs.py and the
approval kinds in apps/approvals/registry.py are), so the audit app imports none of them.

- *Change fields*: a change stored under a field name such as ``"business_unit"`` holds ids;
  the owning app says how to turn a page's worth of them into names (the audit log page, the
  model's History tab and the audit extract show names, not ids).
- *The model reference*: an event's ``model_ref`` is the primary key of the registered model
  it is about; the owning app says how to read the slugs of some refs and the refs of a slug
  (the audit-event API shows and filters by slug), and their names (the pages name the model).
- *Object links*: how an event's object (type and id) becomes the address of its page, for
  a page's worth of events at once (the audit log and History tab link to the objects).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.urls import reverse


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
    #: ``{ref: (slug, name)}`` of the models still there, in one query.
    labels: Callable[[set[int]], dict[int, tuple[str, str]]] | None = None


@dataclass(frozen=True)
class ObjectRef:
    """An event's object as the links see it: its id, and the slug of the model the event is
    about (None when it is about none, or that model is gone)."""

    object_id: str
    model_slug: str | None


@dataclass(frozen=True)
class ObjectLinks:
    """How to link the objects of one type: ``urls(refs)`` answers ``{object_id: url}`` for
    those it can (objects gone are left out when it reads them), in at most one query."""

    urls: Callable[[list[ObjectRef]], dict[str, str]]


_FIELDS: dict[str, FieldNames] = {}
_LINKS: dict[str, ObjectLinks] = {}
_model_reference: ModelReference | None = None


def register_object_links(object_type: str, links: ObjectLinks) -> None:
    """Link the objects of ``object_type`` (``"app.model"``); registering again replaces it."""
    _LINKS[object_type] = links


def object_links() -> dict[str, ObjectLinks]:
    return dict(_LINKS)


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


def _ids(refs: list[ObjectRef]) -> list[int]:
    return [int(r.object_id) for r in refs if r.object_id.isdigit()]


def links_by_pk(url_name: str) -> ObjectLinks:
    """Objects whose page is addressed by their primary key alone (no query)."""

    def urls(refs: list[ObjectRef]) -> dict[str, str]:
        return {str(pk): reverse(url_name, kwargs={"pk": pk}) for pk in _ids(refs)}

    return ObjectLinks(urls=urls)


def links_by_model(url_name: str, *, with_pk: bool = False) -> ObjectLinks:
    """Objects whose page is under their model's (``slug``, and ``pk`` with ``with_pk``), or a
    tab of the model listing them (no query: the model's slug is read once for the page)."""

    def urls(refs: list[ObjectRef]) -> dict[str, str]:
        found = {}
        for ref in refs:
            if ref.model_slug is None or (with_pk and not ref.object_id.isdigit()):
                continue
            kwargs = {"slug": ref.model_slug}
            if with_pk:
                kwargs["pk"] = int(ref.object_id)
            found[ref.object_id] = reverse(url_name, kwargs=kwargs)
        return found

    return ObjectLinks(urls=urls)


def links_by_lookup(read: Callable[[list[int]], dict[int, str]]) -> ObjectLinks:
    """Objects whose address needs a lookup: ``read(pks)`` answers ``{pk: url}`` of those still
    there in one query."""

    def urls(refs: list[ObjectRef]) -> dict[str, str]:
        pks = _ids(refs)
        return {str(pk): url for pk, url in read(pks).items()} if pks else {}

    return ObjectLinks(urls=urls)
