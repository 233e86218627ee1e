"""Browser forms of monitoring. They validate input shape only; the services decide."""

from __future__ import annotations

from django import forms

from apps.inventory.models import RegisteredModel
from apps.monitoring.choices import BreachDirection, default_breach_direction
from apps.monitoring.models import Threshold
from apps.monitoring.selectors import metric_list
from apps.monitoring.services import THRESHOLD_EDITABLE_FIELDS


class ThresholdForm(forms.ModelForm):
    """Draft or edit a threshold of one model; versions offered are that model's."""

    class Meta:
        model = Threshold
        fields = THRESHOLD_EDITABLE_FIELDS
        widgets = {
            "rationale": forms.Textarea(attrs={"rows": 3}),
            "review_by": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        }

    def __init__(self, *args, model: RegisteredModel, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["version"].queryset = model.versions.order_by("-created_at")
        self.fields["version"].empty_label = "All versions"
        self.fields["metric"].queryset = metric_list()
        self.fields["direction"].required = False
        self.fields["direction"].choices = [("", "Follow the metric"), *BreachDirection.choices]
        self.fields["direction"].help_text = "Leave empty to follow the metric's direction."

    def _post_clean(self) -> None:
        # Cross-field rules (bounds, window) are the service's; it reports them per field.
        pass

    def service_data(self) -> dict:
        data = {name: self.cleaned_data[name] for name in THRESHOLD_EDITABLE_FIELDS}
        if not data["direction"] and data["metric"] is not None:
            data["direction"] = default_breach_direction(data["metric"].direction)
        return data


class SubmitForm(forms.Form):
    justification = forms.CharField(
        label="Note for the approvers", required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
