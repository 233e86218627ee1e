"""Top-level routes: browser pages per app, the REST API under /api/v1/, schema and docs."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularSwaggerSplitView

from apps.core.api.views import SchemaView
from apps.core.signing_views import signing_keys
from apps.core.views import favicon

api_v1 = [
    path("", include("apps.inventory.api.urls")),
    path("", include("apps.audit.api.urls")),
    path("", include("apps.reviews.api.urls")),
    path("", include("apps.approvals.api.urls")),
    path("", include("apps.monitoring.api.urls")),
    path("", include("apps.incidents.api.urls")),
    path("", include("apps.reports.api.urls")),
    path("", include("apps.openlineage.api.urls")),
    path("", include("apps.mlflow_sync.api.urls")),
]

urlpatterns = [
    path("favicon.ico", favicon, name="favicon"),
    path("", include("apps.dashboard.urls")),
    path("accounts/", include("apps.accounts.urls")),
    # Sign-in through the organisation's OpenID Connect provider (404 until configured).
    path("oidc/", include("apps.identity.urls")),
    path("inventory/", include("apps.inventory.urls")),
    path("audit/", include("apps.audit.urls")),
    path("reviews/", include("apps.reviews.urls")),
    path("notifications/", include("apps.notifications.urls")),
    path("approvals/", include("apps.approvals.urls")),
    path("monitoring/", include("apps.monitoring.urls")),
    path("incidents/", include("apps.incidents.urls")),
    path("reports/", include("apps.reports.urls")),
    path("openlineage/", include("apps.openlineage.urls")),
    path("mlflow/", include("apps.mlflow_sync.urls")),
    path("admin/", admin.site.urls),
    # SCIM 2.0 provisioning by the identity provider (its own bearer credential).
    path("scim/v2/", include("apps.provisioning.urls")),
    path("api/v1/", include((api_v1, "api"))),
    path("api/schema/", SchemaView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's start-up script as a file: no inline script for the CSP.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    # Public keys that verify signed reports and evidence packs (no sign-in: not secret).
    path(".well-known/mlgov-signing-keys.json", signing_keys, name="signing-keys"),
]

# Errors Django answers itself (unknown path, unhandled exception, refused request) are JSON
# under /api/ and the HTML pages elsewhere.
handler400 = "apps.core.api.handlers.bad_request"
handler403 = "apps.core.api.handlers.permission_denied"
handler404 = "apps.core.api.handlers.page_not_found"
handler500 = "apps.core.api.handlers.server_error"
