"""Sign in, sign out and password change, on Django's auth views with mlgov templates.

Failed sign-ins are counted by django-axes, which shows accounts/locked_out.html once the
limit is reached; the idle timeout comes from the session settings.
"""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import reverse_lazy


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    """POST only (Django's rule): a link cannot sign someone out behind their back."""


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "accounts/password_change_form.html"
    success_url = reverse_lazy("accounts:password_change_done")


class PasswordChangeDoneView(auth_views.PasswordChangeDoneView):
    template_name = "accounts/password_change_done.html"
