from django.apps import AppConfig

from apps.core.navigation import register_count


class NotificationsConfig(AppConfig):
    name = "apps.notifications"
    label = "notifications"
    verbose_name = "Notifications"

    def ready(self) -> None:
        # Connects the approval-engine signal receivers.
        from apps.notifications import receivers  # noqa: F401
        from apps.notifications.states import register_states

        register_states()

        # deferred: the counter reads this app's models, loaded once the registry is ready
        from apps.notifications.selectors import unread_counter

        register_count("notifications_unread", unread_counter)
