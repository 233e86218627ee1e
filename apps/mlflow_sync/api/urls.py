"""MLflow registry sync API routes (mounted under /api/v1/ in the ``api`` namespace)."""

from rest_framework.routers import SimpleRouter

from apps.mlflow_sync.api import views

router = SimpleRouter()
router.register("mlflow/connections", views.ConnectionViewSet, basename="mlflow-connection")
router.register("mlflow/syncs", views.SyncRunViewSet, basename="mlflow-sync")

urlpatterns = router.urls
