from django.apps import AppConfig


class IncidentsConfig(AppConfig):
    name = "apps.incidents"
    label = "incidents"
    verbose_name = "Incidents"

    def ready(self) -> None:
        # Connects the threshold evaluation's signal receivers.
        from apps.incidents import receivers  # noqa: F401
        from apps.incidents.approvals import register_kinds
        from apps.incidents.health import register_health_facts
        from apps.incidents.selectors import open_incidents
        from apps.incidents.tabs import register_tabs

        # deferred: the panel is registered in ready(), once every app is loaded
        from apps.monitoring.panels import Panel, register_panel

        register_kinds()
        register_health_facts()
        register_tabs()
        register_panel(
            Panel(
                key="incidents",
                template="incidents/monitoring_panel.html",
                context=lambda user, model: {"incidents": open_incidents(user=user, model=model)},
            )
        )

        from apps.incidents.audit import register_audit_links

        register_audit_links()

        from apps.incidents.notification_states import register_notification_states

        register_notification_states()

        # The view that makes a rollback signed at the identity provider.
        from apps.incidents.views import register_signature_completions

        register_signature_completions()
