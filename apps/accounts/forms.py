"""Forms of the account pages: signing in, a new API token, revoking one, lifting a lockout."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm

from apps.accounts import signin
from apps.accounts.choices import TokenScope


class LoginForm(AuthenticationForm):
    """Django's sign-in form; with local passwords switched off it says so to anyone but a
    break-glass account (the backend refuses them too, see ``accounts.backends``)."""

    def clean(self):
        username = self.cleaned_data.get("username") or ""
        if username and not signin.local_login_allowed(username):
            provider = signin.external()
            where = provider.label() if provider else "single sign-on"
            raise forms.ValidationError(
                f"Passwords are switched off here: use “{where}”. Only break-glass "
                "administrators sign in with a password.",
                code="local_login_off",
            )
        return super().clean()


class TokenCreateForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        help_text="What will use it, e.g. “CI pipeline” or “notebook”. Shown in the list.",
    )
    scope = forms.ChoiceField(
        choices=TokenScope.choices,
        initial=TokenScope.API,
        required=False,
        help_text="“OpenLineage events only” is for pipelines that send lineage (Airflow, "
        "Spark, dbt): such a key opens nothing else.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Built here so the bounds follow the settings (and tests that change them).
        self.fields["expires_days"] = forms.IntegerField(
            label="Expires after (days)",
            min_value=1,
            max_value=settings.MLGOV_TOKEN_MAX_TTL_DAYS,
            initial=settings.MLGOV_TOKEN_TTL_DAYS,
            help_text="The key stops working after this many days.",
        )


class TokenRevokeForm(forms.Form):
    token = forms.IntegerField(widget=forms.HiddenInput)


class LockoutLiftForm(forms.Form):
    username = forms.CharField(max_length=255, required=False, widget=forms.HiddenInput)
    ip_address = forms.GenericIPAddressField(required=False, widget=forms.HiddenInput)

    def clean(self):
        data = super().clean()
        if not data.get("username") and not data.get("ip_address"):
            raise forms.ValidationError("Name the username or the address to unlock.")
        return data
