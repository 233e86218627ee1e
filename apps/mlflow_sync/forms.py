"""Forms of the MLflow registry sync."""

from __future__ import annotations

from django import forms

from apps.core import egress
from apps.core.forms import ReferenceChoiceField
from apps.inventory import accountability
from apps.inventory.forms import seat_choice_field
from apps.mlflow_sync.models import CONNECTION_FIELDS, MlflowConnection


class ClaimForm(forms.Form):
    purpose = forms.CharField(
        label="Purpose / intended use",
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="What the model is for, in the words of the business that uses it.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The business owners the claim service accepts (the seat's rule), built per form;
        # a plain select, by name, as the claim page has always offered them.
        self.fields["business_owner"] = seat_choice_field(
            accountability.BUSINESS_OWNER,
            field_class=ReferenceChoiceField,
            label="Business owner",
            help_text="The person who signs off the model's thresholds and deployments; "
            "not you, since you become its owner.",
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
