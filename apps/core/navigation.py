"""The counts the navigation shows on every page (approvals waiting, unread notifications),
read together in one query.

Apps register a counter in their ``AppConfig.ready()``: a function of the signed-in user
answering ``None`` (nothing to show this user), a number it already knows (from a cache), or a
queryset whose rows are to be counted. The first count a page reads asks every counter and
counts all the querysets in one statement (a scalar subquery each), kept on the request for
the rest of the page, so the badges cost at most one query a page whatever their number.

A badge counts at most ``NAV_COUNT_CAP`` rows and shows "99+" beyond (``badge_count``): a
validator with thousands of requests waiting pays for a hundred index lookups on every page,
not for all of them; the page the badge links to gives the exact number.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth import get_user_model
from django.db.models import F, Func, IntegerField, QuerySet, Subquery

Counter = Callable[[object], "int | QuerySet | None"]

_COUNTERS: dict[str, Counter] = {}
#: Rows a navigation count reads at most; ``badge_count`` shows more than 99 as "99+".
NAV_COUNT_CAP = 100
_ON_REQUEST = "_mlgov_nav_counts"


def register_count(name: str, counter: Counter) -> None:
    """Show ``name`` in the navigation's counts; ``counter(user)`` says how many."""
    _COUNTERS[name] = counter


def _count_of(queryset: QuerySet) -> Subquery:
    """``COUNT`` of at most ``NAV_COUNT_CAP`` of the rows (the scan stops at the cap)."""
    first = queryset.order_by().values("pk")[:NAV_COUNT_CAP]
    rows = (
        queryset.model._base_manager.filter(pk__in=first)
        .order_by()
        .annotate(_n=Func(F("pk"), function="COUNT"))
        .values("_n")
    )
    return Subquery(rows, output_field=IntegerField())


def badge_count(count: int | None) -> str:
    """A navigation count as a badge shows it: "99+" from ``NAV_COUNT_CAP - 1`` on."""
    if not count:
        return ""
    return f"{NAV_COUNT_CAP - 1}+" if count >= NAV_COUNT_CAP else str(count)


def nav_counts(request) -> dict[str, int | None]:
    """Every registered count for the request's user (``None``: not shown to them), each
    read up to ``NAV_COUNT_CAP``."""
    counts = getattr(request, _ON_REQUEST, None)
    if counts is not None:
        return counts
    user = request.user
    counts, wanted = {}, {}
    for name, counter in _COUNTERS.items():
        answer = counter(user) if getattr(user, "is_authenticated", False) else None
        if isinstance(answer, QuerySet):
            if answer.query.is_empty():
                counts[name] = 0
            else:
                wanted[name] = _count_of(answer)
        else:
            counts[name] = answer
    if wanted:
        row = (
            get_user_model().objects.filter(pk=user.pk).annotate(**wanted).values(*wanted).first()
        ) or {}
        counts.update({name: row.get(name) or 0 for name in wanted})
    setattr(request, _ON_REQUEST, counts)
    return counts
