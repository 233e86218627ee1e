"""Badges of the incident pages: severity and the Art. 73 reporting countdown."""

from __future__ import annotations

from django import template
from django.utils.html import format_html

register = template.Library()

SEVERITY_CLASSES = {"sev1": "badge--danger", "sev2": "badge--danger", "sev3": "badge--warn"}


@register.filter
def severity_badge(incident) -> str:
    return format_html(
        '<span class="badge {}">{}</span>',
        SEVERITY_CLASSES.get(incident.severity, "badge--none"),
        incident.severity.upper(),
    )


@register.filter
def countdown_badge(countdown) -> str:
    """Red when overdue, amber while running, green once reported; empty without a deadline."""
    if countdown is None or not countdown.text:
        return ""
    if countdown.overdue:
        css = "badge--danger"
    elif countdown.reported:
        css = "badge--ok"
    else:
        css = "badge--warn"
    return format_html('<span class="badge {} countdown">{}</span>', css, countdown.text)
