"""Approval API routes (mounted under /api/v1/ in the ``api`` namespace)."""

from rest_framework.routers import SimpleRouter

from apps.approvals.api import views

router = SimpleRouter()
router.register("approvals", views.ApprovalRequestViewSet, basename="approval")

urlpatterns = router.urls
