"""``{% unread_notifications as n %}`` for the navigation badge."""

from django import template

from apps.notifications.selectors import unread_count

register = template.Library()


@register.simple_tag(takes_context=True)
def unread_notifications(context) -> int:
    request = context.get("request")
    return unread_count(user=request.user) if request is not None else 0
