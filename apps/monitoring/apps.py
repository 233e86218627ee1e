from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "apps.monitoring"
    label = "monitoring"
    verbose_name = "Monitoring"

    def ready(self) -> None:
        # deferred: apps.core.tabs loads the shared views, which need the app registry ready
        from apps.core.tabs import Tab, register_tab
        from apps.monitoring.approvals import register_kinds
        from apps.monitoring.health import register_health_facts

        register_kinds()
        register_health_facts()
        for tab in (
            Tab(
                key="monitoring",
                label="Monitoring",
                url_name="monitoring:model_monitoring",
                template="monitoring/tab_monitoring.html",
                order=50,
            ),
            Tab(
                key="thresholds",
                label="Thresholds",
                url_name="monitoring:threshold_list",
                template="monitoring/tab_thresholds.html",
                order=60,
            ),
        ):
            register_tab("inventory.registeredmodel", tab)

        from apps.monitoring.audit import register_audit_links

        register_audit_links()

        from apps.monitoring.notification_states import register_notification_states

        register_notification_states()
