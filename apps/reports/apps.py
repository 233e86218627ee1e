from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "apps.reports"
    label = "reports"
    verbose_name = "Reports"

    def ready(self):
        # deferred: the tab registry imports views and models, not loadable before ready()
        from apps.core.tabs import Tab, register_tab
        from apps.reports import checks  # noqa: F401  (registers the signing-key check)

        register_tab(
            "inventory.registeredmodel",
            Tab(
                key="reports",
                label="Reports",
                url_name="reports:model_reports",
                template="reports/tab_model.html",
                order=90,
                permission="reports.view_model_reports",
            ),
        )

        from apps.reports.audit import register_audit_links

        register_audit_links()
