"""``{% unread_notifications as n %}`` for the navigation badge."""

from django import template

from apps.notifications.selectors import unread_count

register = template.Library()


@register.simple_tag(takes_context=True)
def unread_notifications(context) -> int:
    """The signed-in user's unread count, from the cache when it holds it (every page shows
    it, so it must not add a query to each)."""
    request = context.get("request")
    return unread_count(user=request.user, cached=True) if request is not None else 0
