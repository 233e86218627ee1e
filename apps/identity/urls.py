"""Browser routes of sign-in through the organisation's OpenID Connect provider."""

from django.urls import path

from apps.identity import views

app_name = "identity"
urlpatterns = [
    path("login/", views.SignInView.as_view(), name="oidc_login"),
    path("callback/", views.CallbackView.as_view(), name="oidc_callback"),
    path("signature/callback/", views.signature_callback, name="signature_callback"),
]
