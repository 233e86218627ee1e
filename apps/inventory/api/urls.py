"""Inventory API routes (mounted under /api/v1/ in the ``api`` namespace).

Resources below a model are registered with the model's slug in the prefix, so a plain router
serves them: ``models/{model_slug}/versions/{version}/``.
"""

from django.urls import path
from rest_framework.routers import SimpleRouter

from apps.inventory.api import views

MODEL_PREFIX = rf"models/(?P<model_slug>{views.SLUG_REGEX})"

router = SimpleRouter()
router.register("models", views.RegisteredModelViewSet, basename="model")
router.register(f"{MODEL_PREFIX}/versions", views.ModelVersionViewSet, basename="model-version")
router.register(
    f"{MODEL_PREFIX}/risk-assessments",
    views.RiskAssessmentViewSet,
    basename="model-risk-assessment",
)
router.register("datasets", views.DatasetViewSet, basename="dataset")
router.register("deployments", views.DeploymentViewSet, basename="deployment")

urlpatterns = [
    path("lineage/", views.InventoryLineageView.as_view(), name="lineage"),
    *router.urls,
]
