from django.apps import AppConfig


class InventoryConfig(AppConfig):
    name = "apps.inventory"
    label = "inventory"
    verbose_name = "Model inventory"

    def ready(self) -> None:
        from apps.inventory.approvals import register_kinds
        from apps.inventory.audit import register_audit_names
        from apps.inventory.tabs import register_tabs

        register_kinds()
        register_tabs()
        register_audit_names()

        # The views that make a move signed at the identity provider.
        from apps.inventory.views import register_signature_completions

        register_signature_completions()
