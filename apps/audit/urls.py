"""Browser routes of the audit log."""

from django.urls import path

from apps.audit import views

app_name = "audit"
urlpatterns = [
    path("", views.event_list, name="event_list"),
    path("verify/", views.verify, name="verify"),
    path("verify/<int:pk>/", views.verification, name="verification"),
]
