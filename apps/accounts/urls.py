"""Browser routes for signing in and out, one's password and API tokens, and lockouts."""

from django.urls import path

from apps.accounts import views

app_name = "accounts"
urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("password/", views.PasswordChangeView.as_view(), name="password_change"),
    path("password/done/", views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("tokens/", views.token_list, name="token_list"),
    path("tokens/all/", views.token_list_all, name="token_list_all"),
    path("tokens/revoke/", views.token_revoke, name="token_revoke"),
    path("lockouts/", views.lockout_list, name="lockout_list"),
    path("lockouts/lift/", views.lockout_lift, name="lockout_lift"),
]
