from django.apps import AppConfig

from apps.core.navigation import register_count


class ApprovalsConfig(AppConfig):
    name = "apps.approvals"
    label = "approvals"
    verbose_name = "Approvals"

    def ready(self) -> None:
        # deferred: apps.core.tabs loads the shared views, which need the app registry ready
        from apps.core.tabs import Tab, register_tab

        register_tab(
            "inventory.registeredmodel",
            Tab(
                key="approvals",
                label="Approvals",
                url_name="approvals:model_approvals",
                template="approvals/tab_model.html",
                order=70,
                permission="approvals.view_approvalrequest",
            ),
        )

        from apps.approvals.audit import register_audit_links

        register_audit_links()

        # deferred, like the tabs above: the counter reads this app's selectors and models
        from apps.approvals.context_processors import waiting_counter

        register_count("approvals_waiting", waiting_counter)

        # The view that records a decision signed at the identity provider.
        from apps.approvals.views import register_signature_completions

        register_signature_completions()
