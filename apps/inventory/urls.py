"""Browser routes of the inventory. The URL names are a contract other pages rely on."""

from django.urls import path, register_converter

from apps.inventory.views import datasets, lineage, models, risk, versions


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
    path("models/", models.model_list, name="model_list"),
    path("models/export.csv", models.model_export_csv, name="model_export_csv"),
    path("models/suggest.json", models.model_suggest, name="model_suggest"),
    path("models/new/", models.model_create, name="model_create"),
    path("models/<slug:slug>/", models.model_detail, name="model_detail"),
    path("models/<slug:slug>/edit/", models.model_edit, name="model_edit"),
    path("models/<slug:slug>/versions/", versions.model_versions, name="model_versions"),
    path("models/<slug:slug>/lineage/", lineage.model_lineage, name="model_lineage"),
    path("models/<slug:slug>/risk/", risk.model_risk, name="model_risk"),
    path("models/<slug:slug>/history/", models.model_history, name="model_history"),
    path("models/<slug:slug>/transition/", models.model_transition, name="model_transition"),
    path("models/<slug:slug>/risk/assess/", risk.risk_assess, name="risk_assess"),
    path("models/<slug:slug>/risk/<int:pk>/decide/", risk.risk_decide, name="risk_decide"),
    path("models/<slug:slug>/versions/new/", versions.version_create, name="version_create"),
    path(
        "models/<slug:slug>/versions/<version:version>/",
        versions.version_detail,
        name="version_detail",
    ),
    path(
        "models/<slug:slug>/versions/<version:version>/edit/",
        versions.version_edit,
        name="version_edit",
    ),
    path(
        "models/<slug:slug>/versions/<version:version>/stage/",
        versions.version_stage,
        name="version_stage",
    ),
    path(
        "models/<slug:slug>/deployments/new/", lineage.deployment_create, name="deployment_create"
    ),
    path(
        "models/<slug:slug>/dependencies/new/", lineage.dependency_create, name="dependency_create"
    ),
    path("datasets/", datasets.dataset_list, name="dataset_list"),
    path("datasets/suggest.json", datasets.dataset_suggest, name="dataset_suggest"),
    path("datasets/new/", datasets.dataset_create, name="dataset_create"),
    path("datasets/<slug:slug>/", datasets.dataset_detail, name="dataset_detail"),
    path("datasets/<slug:slug>/edit/", datasets.dataset_edit, name="dataset_edit"),
]
