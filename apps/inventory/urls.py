"""Browser routes of the inventory. The URL names are a contract other pages rely on."""

from django.urls import path, register_converter

from apps.inventory import views


class VersionConverter:
    """Version strings such as 1.4.0, 2.0.0-rc.1 or 1.0+build.7."""

    regex = r"[A-Za-z0-9._+-]+"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(VersionConverter, "version")

app_name = "inventory"
urlpatterns = [
    path("models/", views.model_list, name="model_list"),
    path("models/export.csv", views.model_export_csv, name="model_export_csv"),
    path("models/new/", views.model_create, name="model_create"),
    path("models/<slug:slug>/", views.model_detail, name="model_detail"),
    path("models/<slug:slug>/edit/", views.model_edit, name="model_edit"),
    path("models/<slug:slug>/versions/", views.model_versions, name="model_versions"),
    path("models/<slug:slug>/lineage/", views.model_lineage, name="model_lineage"),
    path("models/<slug:slug>/risk/", views.model_risk, name="model_risk"),
    path("models/<slug:slug>/history/", views.model_history, name="model_history"),
    path("models/<slug:slug>/transition/", views.model_transition, name="model_transition"),
    path("models/<slug:slug>/risk/assess/", views.risk_assess, name="risk_assess"),
    path("models/<slug:slug>/risk/<int:pk>/decide/", views.risk_decide, name="risk_decide"),
    path("models/<slug:slug>/versions/new/", views.version_create, name="version_create"),
    path(
        "models/<slug:slug>/versions/<version:version>/",
        views.version_detail,
        name="version_detail",
    ),
    path(
        "models/<slug:slug>/versions/<version:version>/edit/",
        views.version_edit,
        name="version_edit",
    ),
    path(
        "models/<slug:slug>/versions/<version:version>/stage/",
        views.version_stage,
        name="version_stage",
    ),
    path("models/<slug:slug>/deployments/new/", views.deployment_create, name="deployment_create"),
    path("models/<slug:slug>/dependencies/new/", views.dependency_create, name="dependency_create"),
    path("datasets/", views.dataset_list, name="dataset_list"),
    path("datasets/new/", views.dataset_create, name="dataset_create"),
    path("datasets/<slug:slug>/", views.dataset_detail, name="dataset_detail"),
    path("datasets/<slug:slug>/edit/", views.dataset_edit, name="dataset_edit"),
]
