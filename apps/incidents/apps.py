from django.apps import AppConfig


class IncidentsConfig(AppConfig):
    name = "apps.incidents"
    label = "incidents"
    verbose_name = "Incidents"

    def ready(self) -> None:
        from apps.incidents.approvals import register_kinds

        register_kinds()
