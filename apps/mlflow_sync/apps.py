from django.apps import AppConfig


class MlflowSyncConfig(AppConfig):
    name = "apps.mlflow_sync"
    label = "mlflow_sync"
    verbose_name = "MLflow registry sync"
