"""Browser routes of monitoring. Thresholds sit under their model."""

from django.urls import path

from apps.monitoring import views
from apps.monitoring.drift.urls import urlpatterns as drift_urls
from apps.monitoring.ingestion.urls import urlpatterns as ingestion_urls

app_name = "monitoring"
urlpatterns = [
    path("models/<slug:slug>/", views.model_monitoring, name="model_monitoring"),
    path("models/<slug:slug>/thresholds/", views.threshold_list, name="threshold_list"),
    path("models/<slug:slug>/thresholds/new/", views.threshold_create, name="threshold_create"),
    path(
        "models/<slug:slug>/thresholds/<int:pk>/",
        views.threshold_detail,
        name="threshold_detail",
    ),
    path(
        "models/<slug:slug>/thresholds/<int:pk>/edit/",
        views.threshold_edit,
        name="threshold_edit",
    ),
    path(
        "models/<slug:slug>/thresholds/<int:pk>/submit/",
        views.threshold_submit,
        name="threshold_submit",
    ),
    path(
        "models/<slug:slug>/thresholds/<int:pk>/revise/",
        views.threshold_revise,
        name="threshold_revise",
    ),
]
urlpatterns += ingestion_urls + drift_urls
