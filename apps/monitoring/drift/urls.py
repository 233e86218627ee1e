"""Browser routes of drift (included by apps/monitoring/urls.py)."""

from django.urls import path

from apps.monitoring.drift import views

urlpatterns: list = [
    path("models/<slug:slug>/drift/", views.drift_list, name="drift_list"),
    path("models/<slug:slug>/drift/<int:pk>/", views.drift_detail, name="drift_detail"),
    path(
        "models/<slug:slug>/drift/<int:pk>/progress/",
        views.drift_progress,
        name="drift_progress",
    ),
    path("models/<slug:slug>/drift/<int:pk>/retry/", views.drift_retry, name="drift_retry"),
]
