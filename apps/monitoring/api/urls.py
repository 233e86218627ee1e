"""Monitoring API routes (mounted under /api/v1/ in the ``api`` namespace)."""

from rest_framework.routers import SimpleRouter

from apps.monitoring.api import views
from apps.monitoring.api.drift import DriftRunViewSet
from apps.monitoring.api.ingestion import IngestionBatchViewSet

router = SimpleRouter()
router.register("thresholds", views.ThresholdViewSet, basename="threshold")
router.register("metrics", views.MetricDefinitionViewSet, basename="metric")
router.register("drift-runs", DriftRunViewSet, basename="drift-run")
router.register("ingestion", IngestionBatchViewSet, basename="ingestion")
router.register(
    r"models/(?P<model_slug>[a-z0-9]+(?:-[a-z0-9]+)*)/metrics",
    views.ModelMetricViewSet,
    basename="model-metric",
)

urlpatterns = router.urls
