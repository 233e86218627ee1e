"""Tabbed object pages whose tabs are registered by the apps that own them.

The app that owns an object's page registers the page's frame (its template, the region an
HTMX tab switch swaps, the context every tab shares); each app registers its own tab in its
``AppConfig.ready()``, as NetBox's ``ViewTab`` / ``register_model_view`` do. The page shows
the registered tabs in their ``order``, each only to users who hold its permission on the
object. So the inventory's model page knows nothing of monitoring, approvals, reviews or
reports, and no app imports another app's views to render its tab.

Pages are keyed by the object's model label (``"inventory.registeredmodel"``), so a view
renders its tab with ``render_tab(request, model, tab="reviews", context=...)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import models

from apps.core.views import render_page


@dataclass(frozen=True)
class Tab:
    """One tab of an object page.

    - ``key``: what a view names when it renders the tab, unique on the page.
    - ``label``: the text of the tab.
    - ``url_name``: the URL of the tab, reversed with the object's slug.
    - ``template``: the tab's panel, included by the page.
    - ``order``: position on the page, smallest first.
    - ``permission``: shown only to users with this permission on the object (None: all who
      see the page).
    - ``badge``: optional ``(user, obj) -> int | None``, a count shown beside the label when
      it is not zero; it runs on every render of the page, so keep it to one cheap query.
    """

    key: str
    label: str
    url_name: str
    template: str
    order: int
    permission: str | None = None
    badge: Callable[[Any, Any], int | None] | None = None


@dataclass(frozen=True)
class TabbedPage:
    """The frame of an object page: ``template`` for a full page, ``partial`` for the region an
    HTMX tab switch replaces, ``object_name`` the object's name in the templates, ``context``
    an optional ``(request, obj) -> dict`` of values every tab shares (e.g. the Edit button)."""

    template: str
    partial: str
    object_name: str
    context: Callable[[Any, Any], dict] | None = None


def page_key(model: type[models.Model] | models.Model | str) -> str:
    """The registry key of a model, an instance of it or a label such as
    ``"inventory.RegisteredModel"``: the lower-case model label."""
    if isinstance(model, str):
        return model.lower()
    return model._meta.label_lower


class TabRegistry:
    """Pages and their tabs. The project uses the module's ``registry``; tests make their own."""

    def __init__(self) -> None:
        self._pages: dict[str, TabbedPage] = {}
        self._tabs: dict[str, dict[str, Tab]] = {}

    def register_page(self, model, page: TabbedPage) -> None:
        key = page_key(model)
        if self._pages.get(key, page) != page:
            raise ImproperlyConfigured(f"The page of {key} is already registered differently.")
        self._pages[key] = page

    def register_tab(self, model, tab: Tab) -> None:
        """Add ``tab`` to the page of ``model``. Registering the same tab again is harmless
        (``ready()`` may run twice in tests); a different tab under a used key or order is a
        configuration error, so two apps cannot silently replace or shuffle each other's."""
        key = page_key(model)
        tabs = self._tabs.setdefault(key, {})
        if tabs.get(tab.key, tab) != tab:
            raise ImproperlyConfigured(f"The {tab.key!r} tab of {key} is already registered.")
        clash = next((t for t in tabs.values() if t.order == tab.order and t.key != tab.key), None)
        if clash is not None:
            raise ImproperlyConfigured(
                f"The {tab.key!r} and {clash.key!r} tabs of {key} have the same order "
                f"({tab.order})."
            )
        tabs[tab.key] = tab

    def page(self, model) -> TabbedPage:
        key = page_key(model)
        try:
            return self._pages[key]
        except KeyError:
            raise LookupError(f"No tabbed page is registered for {key}.") from None

    def tabs(self, model) -> list[Tab]:
        """Every tab registered on the page of ``model``, in order."""
        return sorted(self._tabs.get(page_key(model), {}).values(), key=lambda t: t.order)

    def tab(self, model, key: str) -> Tab:
        try:
            return self._tabs[page_key(model)][key]
        except KeyError:
            raise LookupError(f"No {key!r} tab is registered for {page_key(model)}.") from None

    def visible_tabs(self, *, user, obj) -> list[dict]:
        """The tabs of ``obj``'s page that ``user`` may open, in order, with their badges."""
        visible = []
        for tab in self.tabs(obj):
            if tab.permission is not None and not user.has_perm(tab.permission, obj):
                continue
            badge = tab.badge(user, obj) if tab.badge is not None else None
            visible.append(
                {"key": tab.key, "label": tab.label, "url_name": tab.url_name, "badge": badge}
            )
        return visible

    def render(self, request, obj, *, tab: str, context: dict, status: int = 200):
        """The page of ``obj`` open at ``tab``: the whole page, or the tab region for an HTMX
        switch. The view has already checked that the user may see ``obj`` and the tab."""
        page = self.page(obj)
        current = self.tab(obj, tab)
        shared = page.context(request, obj) if page.context is not None else {}
        context = {
            page.object_name: obj,
            "tab": current.key,
            "tabs": self.visible_tabs(user=request.user, obj=obj),
            "tab_template": current.template,
            **shared,
            **context,
        }
        return render_page(request, page.template, context, partial=page.partial, status=status)


registry = TabRegistry()
register_page = registry.register_page
register_tab = registry.register_tab
render_tab = registry.render
