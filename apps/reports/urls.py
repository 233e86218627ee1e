"""Browser routes of reports."""

from django.urls import path

from apps.reports import views

app_name = "reports"
urlpatterns = [
    path("", views.report_list, name="report_list"),
    path("<int:pk>/", views.report_detail, name="report_detail"),
    path("<int:pk>/progress/", views.report_progress, name="report_progress"),
    path("<int:pk>/retry/", views.report_retry, name="report_retry"),
    path("<int:pk>/download/", views.report_download, name="report_download"),
    path("<int:pk>/manifest/", views.report_manifest, name="report_manifest"),
    path("<int:pk>/manifest.sig/", views.report_signature, name="report_signature"),
    path("models/<slug:slug>/", views.model_reports, name="model_reports"),
    path("models/<slug:slug>/card/", views.model_card, name="model_card"),
]
