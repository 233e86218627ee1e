"""Browser routes of the approvals (mounted at /approvals/)."""

from django.urls import path

from apps.approvals import views

app_name = "approvals"
urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("mine/", views.my_requests, name="my_requests"),
    path("policy/", views.policy_page, name="policy"),
    path("requests/<int:pk>/", views.request_detail, name="request_detail"),
    path("requests/<int:pk>/compare/", views.request_compare, name="request_compare"),
    path("requests/<int:pk>/decide/", views.request_decide, name="request_decide"),
    path("requests/<int:pk>/withdraw/", views.request_withdraw, name="request_withdraw"),
    path("models/<slug:slug>/", views.model_approvals, name="model_approvals"),
    path("models/<slug:slug>/request/", views.request_create, name="request_create"),
    path("models/<slug:slug>/lift-gate/", views.gate_lift, name="gate_lift"),
]
