"""Browser routes of periodic reviews and findings."""

from django.urls import path

from apps.reviews import views

app_name = "reviews"
urlpatterns = [
    path("", views.review_list, name="review_list"),
    path("new/", views.review_create, name="review_create"),
    path("<int:pk>/", views.review_detail, name="review_detail"),
    path("<int:pk>/edit/", views.review_edit, name="review_edit"),
    path("<int:pk>/submit/", views.review_submit, name="review_submit"),
    path("models/<slug:slug>/", views.model_reviews, name="model_reviews"),
    path("findings/", views.finding_list, name="finding_list"),
    path("findings/new/", views.finding_create, name="finding_create"),
    path("findings/<int:pk>/", views.finding_detail, name="finding_detail"),
    path("findings/<int:pk>/edit/", views.finding_edit, name="finding_edit"),
    path("findings/<int:pk>/status/", views.finding_status, name="finding_status"),
    path(
        "findings/<int:pk>/risk-acceptance/",
        views.finding_risk_acceptance,
        name="finding_risk_acceptance",
    ),
]
