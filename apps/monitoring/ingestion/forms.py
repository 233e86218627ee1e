"""The upload form of the browser."""

from __future__ import annotations

from django import forms
from django.conf import settings

from apps.core.forms import ReferenceChoiceField
from apps.core.widgets import ModelSearchInput
from apps.monitoring.ingestion.parse import EXTENSIONS


class UploadForm(forms.Form):
    file = forms.FileField(
        help_text="CSV, Parquet, JSON Lines or JSON, optionally gzip-compressed; up to "
        f"{settings.MLGOV_INGEST_MAX_BYTES // (1024 * 1024)} MB.",
        widget=forms.ClearableFileInput(attrs={"accept": ",".join([*EXTENSIONS, ".gz"])}),
    )
    # A type-ahead box by slug, not a <select> of every model the user may push to.
    model = ReferenceChoiceField(
        queryset=None,
        required=False,
        to_field_name="slug",
        widget=ModelSearchInput(attrs={"placeholder": "Any model I may push to"}),
        help_text="Its slug (type part of its name or slug and pick it); when given, every row "
        "must belong to this model.",
        error_messages={"invalid_choice": "No model you may push to has the slug “%(value)s”."},
    )
    accept_partial = forms.BooleanField(
        required=False,
        label="Load the valid rows even if some are rejected",
        help_text="Without this, one rejected row means nothing is loaded.",
    )

    def __init__(self, *args, models, may_push=None, **kwargs):
        """``models`` are the models the user sees; ``may_push(model)`` decides for the one
        typed (the rules decide model by model, so the inventory is never checked whole)."""
        super().__init__(*args, **kwargs)
        self.fields["model"].queryset = models
        self.may_push = may_push

    def clean_model(self):
        model = self.cleaned_data.get("model")
        if model is not None and self.may_push is not None and not self.may_push(model):
            field = self.fields["model"]
            raise forms.ValidationError(
                field.error_messages["invalid_choice"],
                code="invalid_choice",
                params={"value": model.slug},
            )
        return model
