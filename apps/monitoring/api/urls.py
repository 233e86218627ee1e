"""Monitoring API routes (mounted under /api/v1/ in the ``api`` namespace)."""

from rest_framework.routers import SimpleRouter

from apps.monitoring.api import views

router = SimpleRouter()
router.register("thresholds", views.ThresholdViewSet, basename="threshold")
router.register("metrics", views.MetricDefinitionViewSet, basename="metric")

urlpatterns = router.urls
