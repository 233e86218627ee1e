"""Forms of the account pages: a new API token, revoking one, lifting a lockout."""

from __future__ import annotations

from django import forms
from django.conf import settings

from apps.accounts.choices import TokenScope


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
