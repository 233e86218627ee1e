"""Forms of the MLflow registry sync."""

from __future__ import annotations

from django import forms

from apps.accounts.models import User
from apps.core import egress, roles
from apps.mlflow_sync.models import CONNECTION_FIELDS, MlflowConnection


class ClaimForm(forms.Form):
    purpose = forms.CharField(
        label="Purpose / intended use",
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="What the model is for, in the words of the business that uses it.",
    )
    business_owner = forms.ModelChoiceField(
        queryset=User.objects.filter(groups__name=roles.BUSINESS_OWNER, is_active=True).order_by(
            "username"
        ),
        help_text="The person who signs off the model's thresholds and deployments.",
    )


class ConnectionForm(forms.ModelForm):
    tracking_url = forms.URLField(
        label="Tracking URL",
        max_length=300,
        assume_scheme="https",
        validators=[egress.validate_url],
        help_text="The MLflow tracking server, e.g. https://mlflow.example.com. A host on an "
        "internal network must be allow-listed by the operator (MLGOV_EGRESS_ALLOW).",
    )

    class Meta:
        model = MlflowConnection
        fields = CONNECTION_FIELDS
