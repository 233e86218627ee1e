"""Who may read notifications and manage webhook endpoints."""

import rules

from apps.core.predicates import has_any_role, is_admin


@rules.predicate
def is_recipient(user, notification) -> bool:
    return notification is None or notification.recipient_id == user.pk


rules.add_perm("notifications.view_notification", has_any_role & is_recipient)
rules.add_perm("notifications.change_notification", has_any_role & is_recipient)
for _action in ("view", "add", "change", "delete"):
    rules.add_perm(f"notifications.{_action}_webhookendpoint", is_admin)
rules.add_perm("notifications.view_webhookdelivery", is_admin)
