from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "apps.notifications"
    label = "notifications"
    verbose_name = "Notifications"

    def ready(self) -> None:
        # Connects the approval-engine signal receivers.
        from apps.notifications import receivers  # noqa: F401
        from apps.notifications.states import register_states

        register_states()

        from apps.core.navigation import register_count
        from apps.notifications.selectors import unread_counter

        register_count("notifications_unread", unread_counter)
