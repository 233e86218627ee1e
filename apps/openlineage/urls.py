"""Browser routes of the OpenLineage intake, and the facet schemas (mounted at /openlineage/)."""

from django.urls import path

from apps.openlineage import views

app_name = "openlineage"
urlpatterns = [
    path("", views.job_list, name="job_list"),
    path("jobs/<int:pk>/", views.job_detail, name="job_detail"),
    path("rules/", views.rule_list, name="rule_list"),
    path("rules/<int:pk>/delete/", views.rule_delete, name="rule_delete"),
    path("facets/<str:name>.json", views.facet_schema, name="facet_schema"),
]
