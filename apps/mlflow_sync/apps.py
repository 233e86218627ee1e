from django.apps import AppConfig


class MlflowSyncConfig(AppConfig):
    name = "apps.mlflow_sync"
    label = "mlflow_sync"
    verbose_name = "MLflow registry sync"

    def ready(self) -> None:
        # deferred: version_sections reads the inventory's models, loaded once the registry is.
        from apps.inventory.version_sections import VersionSection, register_version_section
        from apps.mlflow_sync.views import version_section_context

        register_version_section(
            VersionSection(
                key="mlflow",
                template="mlflow_sync/_version_section.html",
                context=version_section_context,
            )
        )
