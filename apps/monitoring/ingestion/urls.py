"""Browser routes of ingestion (included by apps/monitoring/urls.py)."""

from django.urls import path

from apps.monitoring.ingestion import views

urlpatterns = [
    path("ingestion/", views.batch_list, name="batch_list"),
    path("ingestion/new/", views.batch_create, name="batch_create"),
    path("ingestion/<int:pk>/", views.batch_detail, name="batch_detail"),
    path("ingestion/<int:pk>/progress/", views.batch_progress, name="batch_progress"),
    path("ingestion/<int:pk>/retry/", views.batch_retry, name="batch_retry"),
]
