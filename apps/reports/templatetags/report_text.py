"""Template filters of the printed reports: identifiers kept whole on paper, types named.

A username, a slug or an e-mail address printed in a narrow table column must not be broken
at an arbitrary letter ("schwarzenfe / ld"): ``breakable`` lets a line end only after one of
its separators, so it breaks, if it must, where a reader sees the parts.
"""

from __future__ import annotations

import re

from django import template
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from apps.audit import kinds

register = template.Library()

SEPARATORS = re.compile(r"([._@/-])")


@register.filter
def breakable(value) -> SafeString:
    """``value`` escaped, with a line-break opportunity (``<wbr>``) after each of its
    separators (``. _ @ / -``) and nowhere else."""
    if value is None or value == "":
        return mark_safe("")
    parts = SEPARATORS.split(str(value))
    out = []
    for index, part in enumerate(parts):
        out.append(escape(part))
        if index % 2 == 1 and index < len(parts) - 1:
            out.append("<wbr>")
    # Every piece of user text above went through escape(); <wbr> is the only markup added.
    return mark_safe("".join(out))  # noqa: S308


def _blank(value) -> bool:
    return value is None or value == "" or value == [] or value == {}


@register.filter
def filled_changes(changes):
    """The changes of an event that say something: a field empty before and after (most of
    a record's fields at its creation) is left out; the CSV keeps every field."""
    return [c for c in changes or () if not (_blank(c.before) and _blank(c.after))]


#: An event with more changes than this may be split across pages (a record's creation
#: lists its every field); shorter ones are kept whole.
TALL_EVENT = 14


@register.filter
def tall(changes) -> bool:
    """Whether an event's row is allowed to break across pages."""
    return len(changes or ()) > TALL_EVENT


@register.filter
def type_label(object_type: str) -> str:
    """An audited object's type by its name (``monitoring.driftrun`` → ``Drift run``)."""
    return kinds.type_label(object_type or "")
