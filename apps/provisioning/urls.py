"""``/scim/v2/``: the SCIM 2.0 service provider (RFC 7644 §3.2)."""

from django.urls import path, re_path

from apps.provisioning import views

app_name = "scim"

urlpatterns = [
    path("", views.Root.as_view(), name="root"),
    path(".search", views.Search.as_view(), name="search"),
    path("ServiceProviderConfig", views.ServiceProviderConfig.as_view(), name="config"),
    path("ResourceTypes", views.ResourceTypes.as_view(), name="resource_types"),
    path("ResourceTypes/<str:name>", views.ResourceTypes.as_view(), name="resource_type"),
    path("Schemas", views.Schemas.as_view(), name="schemas"),
    path("Schemas/<str:uri>", views.Schemas.as_view(), name="schema"),
    path("Users", views.Users.as_view(), name="users"),
    path("Users/.search", views.UserSearch.as_view(), name="user_search"),
    path("Users/<str:scim_id>", views.User.as_view(), name="user"),
    path("Groups", views.Groups.as_view(), name="groups"),
    path("Groups/.search", views.GroupSearch.as_view(), name="group_search"),
    path("Groups/<str:scim_id>", views.Group.as_view(), name="group"),
    re_path(r"^(?P<rest>.+)$", views.NotFound.as_view(), name="not_found"),
]
