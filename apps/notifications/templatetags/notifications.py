"""``{% unread_notifications as n %}`` for the navigation badge."""

from django import template

from apps.core.navigation import counted_by_query, nav_counts
from apps.notifications.selectors import unread_count_remember

register = template.Library()


@register.simple_tag(takes_context=True)
def unread_notifications(context) -> int:
    """The signed-in user's unread count: from the cache when it holds it, else read with the
    page's other navigation counts in one query (every page shows it)."""
    request = context.get("request")
    if request is None or not getattr(request.user, "is_authenticated", False):
        return 0
    count = nav_counts(request).get("notifications_unread") or 0
    if counted_by_query(request, "notifications_unread"):
        unread_count_remember(user=request.user, count=count)
    return count
