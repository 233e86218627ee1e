"""Template tags of drift results: the inline bar of one column."""

from __future__ import annotations

from django import template

from apps.monitoring.drift.display import drift_bar as bar_geometry

register = template.Library()


@register.inclusion_tag("monitoring/drift/_bar.svg.html")
def drift_bar(column):
    """An inline SVG bar of a DriftColumn's score against its threshold (line at the middle)."""
    return {
        "bar": bar_geometry(
            method=column.method,
            score=column.score,
            threshold=column.threshold,
            drifted=column.drifted,
        )
    }


@register.filter
def sig(value, digits: int = 4) -> str:
    """A number with ``digits`` significant digits (p-values can be 1e-30)."""
    try:
        return f"{float(value):.{int(digits)}g}"
    except (TypeError, ValueError):
        return ""
