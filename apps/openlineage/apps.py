from django.apps import AppConfig


class OpenLineageConfig(AppConfig):
    name = "apps.openlineage"
    label = "openlineage"
    verbose_name = "OpenLineage intake"
