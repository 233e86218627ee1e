"""A model's health in templates: ``{{ model|health_badge }}`` on a model read with its
health facts (``apps/inventory/health_facts.py``), without a query."""

from __future__ import annotations

from django import template
from django.utils.html import format_html, format_html_join

from apps.inventory.health import Health, health_of
from apps.inventory.health_facts import facts_of

register = template.Library()


@register.filter
def health(model) -> Health:
    """The model's health from the facts read with it (``model.health`` when already set)."""
    found = getattr(model, "health", None)
    return found if isinstance(found, Health) else health_of(facts_of(model))


@register.filter
def health_badge(value) -> str:
    """The state as a badge, for a model or a :class:`Health`; the other states that apply
    are named in a line under it (not only in a tooltip: touch screens have none)."""
    state = value if isinstance(value, Health) else health(value)
    badge = format_html(
        '<span class="badge badge--{} health-badge">{}</span>', state.tone, state.label
    )
    if not state.also:
        return badge
    others = format_html_join(" · ", "{}", ((label,) for label in state.also))
    return format_html('{}<span class="health-also small muted">also {}</span>', badge, others)
