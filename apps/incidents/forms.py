"""Browser forms of the incident register. They check input shape; the services decide."""

from __future__ import annotations

from django import forms
from django.db.models import Q

from apps.accounts.models import User
from apps.core.forms import (
    ReferenceChoiceField,
    SignedFormMixin,
    name_empty_choices,
    signature_password_field,
)
from apps.core.widgets import ModelSearchInput
from apps.incidents import workflow
from apps.incidents.choices import IncidentStatus
from apps.incidents.models import Incident
from apps.incidents.services import ASSIGNEE_ROLES
from apps.inventory.forms import TEXTAREA, UserChoiceField
from apps.inventory.selectors import people_who_may_act

DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"]


class MinuteDateTimeField(forms.DateTimeField):
    """A time edited to the minute: an untouched value with seconds is not a change."""

    def has_changed(self, initial, data) -> bool:
        if initial is not None:
            initial = initial.replace(second=0, microsecond=0)
        return super().has_changed(initial, data)


def _datetime_field(label: str, help_text: str = "") -> forms.DateTimeField:
    return MinuteDateTimeField(
        label=label,
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=DATETIME_FORMATS,
        help_text=help_text,
    )


class _SeriousFields(forms.ModelForm):
    awareness_at = _datetime_field(
        "Aware of it as serious since",
        "Starts the Art. 73 reporting clock; now, if left empty for a serious incident.",
    )


class IncidentCreateForm(_SeriousFields):
    # A type-ahead box, not a <select> of every model the user may open an incident on.
    model = ReferenceChoiceField(
        queryset=None,
        to_field_name="slug",
        widget=ModelSearchInput(),
        help_text="Its slug: type part of its name or slug and pick it from the suggestions.",
        error_messages={"invalid_choice": "No model you may open an incident on has this slug."},
    )
    detected_at = _datetime_field("Detected at", "In your time zone; now, if left empty.")

    class Meta:
        model = Incident
        fields = (
            "model",
            "title",
            "severity",
            "description",
            "detected_at",
            "serious_category",
            "widespread",
            "awareness_at",
        )
        widgets = {"description": TEXTAREA}

    def __init__(self, *args, models, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["model"].queryset = models
        name_empty_choices(self, serious_category="Not serious")

    def service_data(self) -> dict:
        return {k: v for k, v in self.cleaned_data.items() if v is not None}


class IncidentUpdateForm(_SeriousFields):
    assignee = UserChoiceField(queryset=None, required=False, empty_label="Nobody")
    reported_at = _datetime_field(
        "Reported to the authority at", "When the Art. 73 report was sent."
    )

    class Meta:
        model = Incident
        fields = (
            "title",
            "severity",
            "assignee",
            "description",
            "impact",
            "root_cause",
            "corrective_actions",
            "serious_category",
            "widespread",
            "awareness_at",
            "reported_at",
        )
        widgets = {
            "description": TEXTAREA,
            "impact": TEXTAREA,
            "root_cause": TEXTAREA,
            "corrective_actions": TEXTAREA,
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Only people who may work on the incident (never auditors or viewers); whoever is
        # assigned now stays offered so the form saves unchanged, and the service refuses
        # assigning anyone else out of reach.
        eligible = people_who_may_act(model=self.instance.model, acting_roles=ASSIGNEE_ROLES)
        keep = self.instance.assignee_id
        self.fields["assignee"].queryset = User.objects.filter(
            Q(pk__in=eligible.values("pk")) | Q(pk=keep)
        ).order_by("first_name", "last_name", "username")
        self.fields[
            "assignee"
        ].help_text = "The model's owner or a developer, a validator or an administrator."
        name_empty_choices(self, serious_category="Not serious")

    def service_data(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.changed_data}


class TransitionForm(forms.Form):
    status = forms.ChoiceField(choices=IncidentStatus.choices, label="New status")
    note = forms.CharField(widget=TEXTAREA, required=False)

    def __init__(self, *args, current: str, **kwargs):
        super().__init__(*args, **kwargs)
        labels = dict(IncidentStatus.choices)
        self.fields["status"].choices = [(s, labels[s]) for s in workflow.allowed_targets(current)]


class CommentForm(forms.Form):
    text = forms.CharField(widget=TEXTAREA, label="Comment")


class RollbackForm(SignedFormMixin, forms.Form):
    """An emergency rollback, signed: the version offered (so a changed plan is refused, not
    carried out blindly), the reason and the password re-entered (or, with
    ``provider_name``, a re-authentication at the identity provider)."""

    reason = forms.CharField(
        widget=TEXTAREA, help_text="Why this cannot wait for an ordinary promotion."
    )
    password = signature_password_field("this production change")
    expected_version = forms.CharField(widget=forms.HiddenInput, required=False)
