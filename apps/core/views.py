"""Helpers shared by every app's browser views: access checks, HTMX partials, errors.

Views stay thin: they check a rules permission, call a selector or a service and render.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.core.paginator import Page, Paginator
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.utils.cache import patch_vary_headers

from apps.core.predicates import has_any_role

PAGE_SIZE = 25


def role_required(view: Callable) -> Callable:
    """Anonymous users go to the login page; signed-in users without any mlgov role get 403."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not has_any_role(request.user):
            raise PermissionDenied("Your account has no mlgov role; ask an administrator.")
        return view(request, *args, **kwargs)

    return wrapper


def require_perm(request, perm: str, obj=None) -> None:
    """403 unless the rules in apps/*/rules.py grant ``perm`` (on ``obj``) to the user."""
    if not request.user.has_perm(perm, obj):
        raise PermissionDenied(f"You are not allowed to do this ({perm}).")


def is_partial(request) -> bool:
    """An HTMX request that swaps part of a page (boosted requests want whole pages)."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def render_page(request, template: str, context: dict, *, partial: str = "", status: int = 200):
    """Render the whole page, or only ``partial`` for an HTMX swap of that region."""
    name = partial if partial and is_partial(request) else template
    response = render(request, name, context, status=status)
    # The same URL answers with a fragment or a page depending on this header.
    patch_vary_headers(response, ("HX-Request",))
    return response


# From this offset on, a page's keys are read before its rows (KeysFirstPaginator).
KEYS_FIRST_AFTER = 500


class KeysFirstPaginator(Paginator):
    """Pages of a large ordered queryset whose late pages stay cheap: past ``KEYS_FIRST_AFTER``
    rows, the page's primary keys are read first (the offset walks the ordering's index and
    nothing else), then the page's rows by key, joins and all. Early pages are one query."""

    def page(self, number):
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        if bottom < KEYS_FIRST_AFTER:
            return self._get_page(self.object_list[bottom:top], number, self)
        keys = list(self.object_list.values_list("pk", flat=True)[bottom:top])
        rows = {row.pk: row for row in self.object_list.order_by().filter(pk__in=keys)}
        return self._get_page([rows[key] for key in keys if key in rows], number, self)


def paginate(request, queryset, *, per_page: int = PAGE_SIZE, keys_first: bool = False) -> Page:
    """The requested page; out-of-range or junk page numbers fall back to the nearest page.
    ``keys_first`` for long lists of querysets with joins (see KeysFirstPaginator)."""
    paginator_class = KeysFirstPaginator if keys_first else Paginator
    return paginator_class(queryset, per_page).get_page(request.GET.get("page"))


def favicon(request):
    """``/favicon.ico``: browsers ask for it on pages that name no icon (the admin, JSON
    answers, files); send them to the app's icon rather than a 404."""
    return redirect(static("img/favicon.svg"))
