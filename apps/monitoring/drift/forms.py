"""The drift upload form. It checks input shape only; the service checks the files."""

from __future__ import annotations

from django import forms

from apps.core.forms import ReferenceChoiceField
from apps.inventory.models import RegisteredModel

ACCEPT = ".csv,.parquet,.gz,text/csv,application/gzip,application/vnd.apache.parquet"


class DriftRunForm(forms.Form):
    version = ReferenceChoiceField(queryset=None, empty_label=None)
    reference = forms.FileField(
        label="Reference sample",
        help_text="The data the model was trained or validated on: CSV or Parquet, gzip allowed.",
        widget=forms.ClearableFileInput(attrs={"accept": ACCEPT}),
    )
    current = forms.FileField(
        label="Current sample",
        help_text="Recent data the model scored, with the same columns.",
        widget=forms.ClearableFileInput(attrs={"accept": ACCEPT}),
    )
    observed_at = forms.DateTimeField(
        label="Observed at",
        required=False,
        help_text="When the current sample was taken (your time zone); empty for now.",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )

    def __init__(self, *args, model: RegisteredModel, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["version"].queryset = model.versions.order_by("-created_at")
        self.fields["version"].label_from_instance = lambda version: version.version

    def service_data(self) -> dict:
        data = self.cleaned_data
        return {
            "version": data["version"],
            "reference": data["reference"],
            "current": data["current"],
            "observed_at": data["observed_at"],
        }
