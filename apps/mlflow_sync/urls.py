"""Browser routes of the MLflow registry sync."""

from django.urls import path

from apps.mlflow_sync import views

app_name = "mlflow_sync"
urlpatterns = [
    path("", views.connection_list, name="connection_list"),
    path("<int:pk>/", views.connection_detail, name="connection_detail"),
    path("<int:pk>/sync/", views.connection_sync, name="connection_sync"),
    path("syncs/<int:pk>/", views.run_detail, name="run_detail"),
    path("discovered/", views.discovered_list, name="discovered_list"),
    path("discovered/<slug:slug>/claim/", views.model_claim, name="model_claim"),
]
