"""Sections other apps add to a model's Monitoring tab.

The Monitoring tab shows monitoring's own sections (charts, threshold states, drift, batches).
An app above monitoring adds a section by registering a panel in its ``AppConfig.ready()``
(the incidents app lists the model's open incidents there), so monitoring imports nothing
from it. A panel is a template the tab includes after the threshold states, in ``order``, and
a ``context(user, model)`` of the values its template reads.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured


@dataclass(frozen=True)
class Panel:
    """One section of the Monitoring tab.

    - ``key``: unique among the panels.
    - ``template``: included by the tab; it reads the tab's context and the panel's values.
    - ``context``: ``(user, model) -> dict`` of the values the template reads; querysets stay
      lazy, so the template runs them once.
    - ``order``: position among the panels, smallest first.
    """

    key: str
    template: str
    context: Callable[[Any, Any], dict]
    order: int = 100


_PANELS: dict[str, Panel] = {}


def register_panel(panel: Panel) -> None:
    """Add ``panel`` to the Monitoring tab; registering the same panel again is harmless, a
    different one under a used key is a configuration error."""
    if _PANELS.get(panel.key, panel) != panel:
        raise ImproperlyConfigured(f"The {panel.key!r} monitoring panel is already registered.")
    _PANELS[panel.key] = panel


def panels_context(*, user, model) -> dict:
    """The registered panels' templates in order (``panel_templates``) and their values."""
    panels = sorted(_PANELS.values(), key=lambda panel: panel.order)
    context: dict = {"panel_templates": [panel.template for panel in panels]}
    for panel in panels:
        context.update(panel.context(user, model))
    return context
