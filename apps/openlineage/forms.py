"""Forms of the OpenLineage pages: map a job to a model, add a naming rule."""

from __future__ import annotations

from django import forms
from django.db.models import QuerySet

from apps.core.forms import ReferenceChoiceField
from apps.core.widgets import ModelSearchInput
from apps.inventory.models import RegisteredModel


def _model_field(help_text: str) -> ReferenceChoiceField:
    # A type-ahead box by slug, not a <select> of the whole inventory.
    return ReferenceChoiceField(
        queryset=RegisteredModel.objects.none(),
        to_field_name="slug",
        label="Model",
        widget=ModelSearchInput(),
        help_text=help_text,
        error_messages={"invalid_choice": "No model has the slug “%(value)s”."},
    )


class JobMapForm(forms.Form):
    model = _model_field("The model this job trains, evaluates or serves: its slug.")

    def __init__(self, *args, models: QuerySet[RegisteredModel], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["model"].queryset = models


class NamingRuleForm(forms.Form):
    namespace_pattern = forms.CharField(
        max_length=300,
        initial="*",
        label="Namespace pattern",
        help_text="The job namespace, e.g. “airflow-prod”; “*” for any.",
    )
    job_pattern = forms.CharField(
        max_length=300,
        label="Job-name pattern",
        help_text="Shell-style: “*” any characters, “?” one, e.g. “credit_scoring.train*”.",
    )
    model = _model_field("The model the matching jobs map to: its slug.")
    position = forms.IntegerField(
        min_value=0, max_value=100000, initial=100, help_text="Lower positions are tried first."
    )

    def __init__(self, *args, models: QuerySet[RegisteredModel], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["model"].queryset = models
