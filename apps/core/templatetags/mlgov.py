"""Template helpers for mlgov pages: query strings, sortable headers, badges, form fields,
and the one way a user-entered URL becomes a link (``user_link``)."""

from __future__ import annotations

import json

from django import forms, template
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from apps.core import navigation
from apps.core.links import LINK_REL, safe_link_url
from apps.core.roles import ROLE_LABELS

register = template.Library()


@register.simple_tag(takes_context=True)
def query(context, **changes) -> str:
    """The current query string with ``changes`` applied (None removes a key).

    Changing anything but the page number resets pagination to the first page.
    """
    params = context["request"].GET.copy()
    if "page" not in changes:
        params.pop("page", None)
    for key, value in changes.items():
        if value is None or value == "":
            params.pop(key, None)
        else:
            params[key] = value
    encoded = params.urlencode()
    return f"?{encoded}" if encoded else "?"


@register.simple_tag(takes_context=True)
def sort_header(context, field: str, label: str, param: str = "ordering") -> str:
    """A column heading linking to the list sorted by ``field``; a second click reverses it.

    The link also carries ``hx-get`` so, inside a results region that sets ``hx-target``,
    sorting refreshes only that region.
    """
    current = context["request"].GET.get(param, "")
    if current == field:
        target, state, arrow = f"-{field}", "ascending", "▲"
    elif current == f"-{field}":
        target, state, arrow = field, "descending", "▼"
    else:
        target, state, arrow = field, "none", ""
    href = query(context, **{param: target})
    indicator = format_html('<span class="sort-indicator" aria-hidden="true">{}</span>', arrow)
    return format_html(
        '<th scope="col" aria-sort="{}"><a href="{}" hx-get="{}" data-sort="{}">{}{}</a></th>',
        state,
        href,
        href,
        target,
        label,
        indicator if arrow else "",
    )


@register.filter
def badge_count(count) -> str:
    """A count as the navigation badges show it ("99+" beyond their cap)."""
    return navigation.badge_count(count)


@register.filter
def tier_badge(tier) -> str:
    if not tier:
        return mark_safe('<span class="badge badge--none">Not assessed</span>')
    return format_html('<span class="badge badge--tier-{}">Tier {}</span>', tier, tier)


@register.filter
def status_badge(model) -> str:
    return format_html(
        '<span class="badge badge--status badge--status-{}">{}</span>',
        model.status,
        model.get_status_display(),
    )


@register.filter
def pretty_json(value) -> str:
    """Indented JSON for display; the template escapes it."""
    if value in (None, "", {}, []):
        return ""
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)


@register.filter
def is_checkbox(field: forms.BoundField) -> bool:
    return isinstance(field.field.widget, forms.CheckboxInput)


@register.inclusion_tag("includes/field.html")
def field(bound: forms.BoundField, wide: bool = False):
    """One labelled form field with help text and errors tied to it for screen readers."""
    describedby = []
    if bound.help_text:
        describedby.append(f"{bound.auto_id}_help")
    if bound.errors:
        describedby.append(f"{bound.auto_id}_errors")
    attrs = {}
    if describedby:
        attrs["aria-describedby"] = " ".join(describedby)
    if bound.errors:
        attrs["aria-invalid"] = "true"
    return {
        "field": bound,
        "widget": bound.as_widget(attrs=attrs),
        "wide": wide,
        "is_checkbox": isinstance(bound.field.widget, forms.CheckboxInput),
        "is_group": isinstance(
            bound.field.widget, forms.CheckboxSelectMultiple | forms.RadioSelect
        ),
    }


#: Route fragment of every page about one model, whichever app serves it (its tabs, its
#: thresholds, its approvals, its card): they all belong to the "Models" section.
MODEL_ROUTE = "models/<slug:slug>/"


@register.simple_tag(takes_context=True)
def nav_section(context) -> str:
    """The main navigation's section of the page: ``"models"`` for the inventory's model
    pages and every page about one model (the tabs other apps register included),
    ``"datasets"`` for the catalogue, else the URL namespace (``"approvals"``, ``"audit"``...).
    A view may name it outright with a ``nav_section`` context value."""
    explicit = context.get("nav_section")
    if explicit:
        return explicit
    request = context.get("request")
    match = getattr(request, "resolver_match", None)
    if match is None:
        return ""
    if match.namespace == "inventory":
        return "datasets" if (match.url_name or "").startswith("dataset") else "models"
    if MODEL_ROUTE in (match.route or ""):
        return "models"
    return match.namespace


#: Roles that request or decide approvals: only they are offered "My approvals".
APPROVAL_ROLES = frozenset({"admin", "validator", "business_owner", "model_owner"})


@register.filter
def takes_part_in_approvals(user) -> bool:
    """Whether ``user`` requests or decides approvals (auditors and viewers do neither)."""
    return bool(APPROVAL_ROLES & set(getattr(user, "role_names", [])))


@register.filter
def role_labels(user) -> str:
    """The user's roles in words, for the header."""
    names = [ROLE_LABELS[name] for name in getattr(user, "role_names", [])]
    return ", ".join(names) or "no role"


@register.filter
def duration(value) -> str:
    """A timedelta in words, e.g. "15 minutes" or "1 hour 30 minutes"."""
    if not value:
        return ""
    minutes = int(value.total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    parts = []
    if hours:
        parts.append(f"{hours} hour{'s' if hours != 1 else ''}")
    if minutes or not parts:
        parts.append(f"{minutes} minute{'s' if minutes != 1 else ''}")
    return " ".join(parts)


@register.filter
def user_link(value, label=None) -> str:
    """A user-entered URL as a link if it is http(s), otherwise as the text that was typed.

    Every URL that a user typed and a page or HTML/PDF report shows goes through this filter,
    so a ``javascript:`` evidence link is never live for the validators and auditors who read
    it. ``label`` replaces the URL as the link text.
    """
    if value is None or value == "":
        return ""
    text = str(value).strip() if label in (None, "") else str(label)
    url = safe_link_url(value)
    if url is None:
        return format_html(
            '<span class="link-refused" title="Not an http(s) address: shown as text">{}</span>',
            text,
        )
    return format_html('<a href="{}" rel="{}">{}</a>', url, LINK_REL, text)
