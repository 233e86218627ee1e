"""Incident API routes (mounted under /api/v1/ in the ``api`` namespace)."""

from rest_framework.routers import SimpleRouter

from apps.incidents.api import views

router = SimpleRouter()
router.register("incidents", views.IncidentViewSet, basename="incident")

urlpatterns = router.urls
