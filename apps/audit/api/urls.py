"""Audit API routes (mounted under /api/v1/ in the ``api`` namespace)."""

from rest_framework.routers import SimpleRouter

from apps.audit.api import views

router = SimpleRouter()
router.register("audit-events", views.AuditEventViewSet, basename="audit-event")
router.register(
    "audit-verifications", views.ChainVerificationViewSet, basename="audit-verification"
)

urlpatterns = router.urls
