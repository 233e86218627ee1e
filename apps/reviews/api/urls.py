"""Reviews API routes (mounted under /api/v1/ in the ``api`` namespace)."""

from rest_framework.routers import SimpleRouter

from apps.reviews.api import views

router = SimpleRouter()
router.register("reviews", views.ReviewViewSet, basename="review")
router.register("findings", views.FindingViewSet, basename="finding")

urlpatterns = router.urls
