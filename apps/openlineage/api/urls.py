"""OpenLineage API route (mounted under /api/v1/ in the ``api`` namespace)."""

from django.urls import path

from apps.openlineage.api.views import OpenLineageIntakeView, OpenLineageIntakeWithoutSlashView

urlpatterns = [
    path("lineage/openlineage/", OpenLineageIntakeView.as_view(), name="openlineage-intake"),
    path(
        "lineage/openlineage",
        OpenLineageIntakeWithoutSlashView.as_view(),
        name="openlineage-intake-without-slash",
    ),
]
