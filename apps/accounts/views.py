"""Sign in, sign out, password change, API tokens and (for administrators) lockouts.

Sign-in is on Django's auth views with mlgov templates. Failed sign-ins are counted by
django-axes under mlgov's lockout rules (apps/accounts/lockout.py), which shows
accounts/locked_out.html once a limit is reached; the idle timeout comes from the session
settings.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from apps.accounts import selectors, services, signin
from apps.accounts.choices import TokenScope
from apps.accounts.forms import LockoutLiftForm, LoginForm, TokenCreateForm, TokenRevokeForm
from apps.accounts.lockout import lockout_rules
from apps.accounts.models import AuthToken
from apps.core.errors import ApplicationError
from apps.core.forms import add_application_error
from apps.core.views import paginate, require_perm


class LoginView(auth_views.LoginView):
    """Local passwords and, when configured, the identity provider's sign-in button. With
    local passwords switched off only break-glass accounts use the form, each time audited."""

    template_name = "accounts/login.html"
    redirect_authenticated_user = True
    form_class = LoginForm

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        provider = signin.external()
        context["external_sign_in"] = provider
        context["external_label"] = provider.label() if provider else ""
        context["local_login"] = signin.local_login_enabled()
        return context

    def form_valid(self, form):
        if not signin.local_login_enabled():
            services.login_break_glass_record(user=form.get_user())
        return super().form_valid(form)


class LogoutView(auth_views.LogoutView):
    """POST only (Django's rule): a link cannot sign someone out behind their back. A session
    begun at the identity provider ends there too (RP-initiated logout): the answer sends the
    browser on to the provider, which returns it to the sign-in page."""

    def post(self, request, *args, **kwargs):
        provider = signin.external()
        end_session = provider.end_session_url(request) if provider else None
        response = super().post(request, *args, **kwargs)
        if end_session:
            return redirect(end_session)
        return response


class PasswordChangeView(auth_views.PasswordChangeView):
    """Changing one's password is audited and revokes one's API tokens (see ``User.save``);
    this session stays signed in, the user's other sessions end."""

    template_name = "accounts/password_change_form.html"
    success_url = reverse_lazy("accounts:password_change_done")

    def form_valid(self, form):
        user = services.user_change_own_password(
            user=self.request.user, password=form.cleaned_data["new_password1"]
        )
        update_session_auth_hash(self.request, user)
        return redirect(self.get_success_url())


class PasswordChangeDoneView(auth_views.PasswordChangeDoneView):
    template_name = "accounts/password_change_done.html"


@never_cache  # the response may carry a new key
@login_required
def token_list(request):
    """The user's API tokens; POST makes a new one, whose key is shown in this response only."""
    can_create = request.user.has_perm("accounts.add_authtoken")
    form = TokenCreateForm(request.POST or None)
    new_key = new_token = None
    if request.method == "POST":
        require_perm(request, "accounts.add_authtoken")
        if form.is_valid():
            try:
                new_token, new_key = services.auth_token_create(
                    actor=request.user,
                    user=request.user,
                    name=form.cleaned_data["name"],
                    expires_days=form.cleaned_data["expires_days"],
                    scope=form.cleaned_data["scope"] or TokenScope.API,
                )
            except ApplicationError as exc:
                add_application_error(form, exc)
            else:
                form = TokenCreateForm()
    context = {
        "tokens": selectors.auth_tokens_of(user=request.user),
        "form": form,
        "can_create": can_create,
        "new_key": new_key,
        "new_token": new_token,
        "can_view_all": request.user.has_perm("accounts.view_all_authtokens"),
    }
    return render(request, "accounts/token_list.html", context)


@login_required
def token_list_all(request):
    """Every user's tokens, for administrators (names and dates; keys are never stored)."""
    require_perm(request, "accounts.view_all_authtokens")
    page = paginate(request, selectors.auth_tokens_all())
    return render(request, "accounts/token_list_all.html", {"page_obj": page})


@login_required
@require_POST
def token_revoke(request):
    """Revoke one token: the owner's own, or any for an administrator. Others' answer 404."""
    form = TokenRevokeForm(request.POST)
    if not form.is_valid():
        raise Http404("No such token.")
    try:
        token = selectors.auth_token_get(user=request.user, pk=form.cleaned_data["token"])
    except AuthToken.DoesNotExist as exc:
        raise Http404("No such token.") from exc
    require_perm(request, "accounts.delete_authtoken", token)
    name, owner = token.name, token.user
    services.auth_token_revoke(actor=request.user, token=token)
    messages.success(request, f"The token “{name}” was revoked; it no longer works.")
    if owner.pk != request.user.pk:
        return redirect(reverse("accounts:token_list_all"))
    return redirect(reverse("accounts:token_list"))


@login_required
def lockout_list(request):
    """Usernames and addresses locked now after repeated wrong passwords (administrators)."""
    require_perm(request, "accounts.view_lockout")
    context = {
        "lockouts": selectors.lockouts_active(),
        "rules": lockout_rules(),
    }
    return render(request, "accounts/lockout_list.html", context)


@login_required
@require_POST
def lockout_lift(request):
    """An administrator lifts a lockout; audited as ``unlock``."""
    require_perm(request, "accounts.lift_lockout")
    form = LockoutLiftForm(request.POST)
    if not form.is_valid():
        for error in form.errors.get("__all__", []) or ["Name the username or the address."]:
            messages.error(request, error)
        return redirect("accounts:lockout_list")
    username = form.cleaned_data["username"]
    ip_address = form.cleaned_data["ip_address"] or ""
    try:
        services.lockout_lift(actor=request.user, username=username, ip_address=ip_address)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        who = " from ".join(p for p in (username, ip_address) if p)
        messages.success(request, f"Lockout lifted for {who}; they may sign in again.")
    return redirect("accounts:lockout_list")
