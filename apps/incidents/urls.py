"""Browser routes of the incident register."""

from django.urls import path

from apps.incidents import views

app_name = "incidents"
urlpatterns = [
    path("", views.incident_list, name="incident_list"),
    path("new/", views.incident_create, name="incident_create"),
    path("models/<slug:slug>/", views.model_incidents, name="model_incidents"),
    path("<str:reference>/", views.incident_detail, name="incident_detail"),
    path("<str:reference>/edit/", views.incident_edit, name="incident_edit"),
    path("<str:reference>/transition/", views.incident_transition, name="incident_transition"),
    path("<str:reference>/comment/", views.incident_comment, name="incident_comment"),
    path("<str:reference>/rollback/", views.incident_rollback, name="incident_rollback"),
]
