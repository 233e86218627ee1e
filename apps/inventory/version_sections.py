"""Sections other apps add to the version page, below the inventory's own: a template and a
function giving its context for one version, or None when it has nothing to show for it.
Apps register theirs in their ``AppConfig.ready()`` (the inventory never imports them)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from apps.inventory.models import ModelVersion


@dataclass(frozen=True)
class VersionSection:
    key: str
    template: str
    #: ``(request, version)`` → the section's context, or None to leave it out. One query at
    #: most: the page's query count must not grow with what the section lists.
    context: Callable[[Any, ModelVersion], dict[str, Any] | None]
    order: int = 100


_SECTIONS: dict[str, VersionSection] = {}


def register_version_section(section: VersionSection) -> None:
    _SECTIONS[section.key] = section


def version_sections(request, version: ModelVersion) -> list[dict[str, Any]]:
    """The registered sections that have something to show for ``version``, in order, each
    as its context with ``template`` added."""
    found = []
    for section in sorted(_SECTIONS.values(), key=lambda s: (s.order, s.key)):
        context = section.context(request, version)
        if context is not None:
            found.append({**context, "template": section.template, "key": section.key})
    return found
