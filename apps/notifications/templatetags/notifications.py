"""``{% unread_notifications as n %}`` for the navigation badge."""

from django import template

from apps.core.navigation import nav_counts

register = template.Library()


@register.simple_tag(takes_context=True)
def unread_notifications(context) -> int:
    """The signed-in user's unread count, read with the page's other navigation counts in one
    query (every page shows it)."""
    request = context.get("request")
    if request is None or not getattr(request.user, "is_authenticated", False):
        return 0
    return nav_counts(request).get("notifications_unread") or 0
