"""Browser forms of reviews and findings. They check input shape; the services decide."""

from __future__ import annotations

from django import forms
from django.db.models import Q

from apps.accounts.models import User
from apps.core import roles
from apps.core.forms import ReferenceChoiceField
from apps.core.links import validate_link_lines
from apps.core.widgets import ModelSearchInput
from apps.inventory.forms import DATE, TEXTAREA, UserChoiceField, users_with_role
from apps.inventory.selectors import people_who_may_act
from apps.reviews.choices import FindingStatus, ReviewOutcome, Severity
from apps.reviews.models import Finding, Review


def _model_field(may: str) -> ReferenceChoiceField:
    """A type-ahead box taking a model's slug, not a <select> of every model the user sees;
    only the form's queryset (models the user may act on) is accepted."""
    return ReferenceChoiceField(
        queryset=None,
        to_field_name="slug",
        widget=ModelSearchInput(),
        help_text="Its slug: type part of its name or slug and pick it from the suggestions.",
        error_messages={"invalid_choice": f"No model you may {may} has the slug “%(value)s”."},
    )


class ReviewCreateForm(forms.Form):
    model = _model_field("review")
    reviewer = UserChoiceField(
        queryset=None, required=False, empty_label="You", help_text="You, if left empty."
    )
    scope = forms.CharField(widget=TEXTAREA)
    due_date = forms.DateField(
        widget=DATE, required=False, help_text="The review date it answers (the model's, if empty)."
    )

    def __init__(self, *args, models, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["model"].queryset = models
        self.fields["reviewer"].queryset = users_with_role(roles.VALIDATOR, roles.ADMIN)


class ReviewForm(forms.ModelForm):
    reviewer = UserChoiceField(queryset=None)
    outcome = forms.ChoiceField(
        choices=[("", "Not yet decided"), *ReviewOutcome.choices], required=False
    )

    class Meta:
        model = Review
        fields = ("reviewer", "scope", "outcome", "notes", "reviewed_on")
        widgets = {
            "scope": TEXTAREA,
            "notes": forms.Textarea(attrs={"rows": 6}),
            "reviewed_on": DATE,
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reviewer"].queryset = users_with_role(
            roles.VALIDATOR, roles.ADMIN, keep=[self.instance.reviewer_id]
        )


class SubmitForm(forms.Form):
    justification = forms.CharField(widget=TEXTAREA, required=False, label="Note to approvers")


class FindingForm(forms.ModelForm):
    """Validators edit every field; a finding's owner only the evidence (``owner_only``)."""

    owner = UserChoiceField(queryset=None)

    class Meta:
        model = Finding
        fields = (
            "title",
            "severity",
            "description",
            "owner",
            "due_date",
            "evidence",
            "evidence_links",
        )
        widgets = {
            "description": TEXTAREA,
            "evidence": TEXTAREA,
            "evidence_links": TEXTAREA,
            "due_date": DATE,
        }

    def __init__(self, *args, owner_only: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        # People who may act on the model (never auditors or viewers); the current owner
        # stays offered so the form saves unchanged; the service checks any other choice.
        model = self.instance.model if self.instance.model_id else None
        eligible = people_who_may_act(model=model)
        keep = self.instance.owner_id
        self.fields["owner"].queryset = User.objects.filter(
            Q(pk__in=eligible.values("pk")) | Q(pk=keep)
        ).order_by("first_name", "last_name", "username")
        self.fields["owner"].help_text = (
            "Who remediates it: the model's owner, a developer or its business owner, a "
            "validator or an administrator."
        )
        self.fields["severity"].choices = Severity.choices
        if owner_only:
            for name in list(self.fields):
                if name not in ("evidence", "evidence_links"):
                    del self.fields[name]

    def clean_evidence_links(self) -> str:
        text = self.cleaned_data.get("evidence_links", "")
        validate_link_lines(text)
        return text

    def service_data(self) -> dict:
        if self.instance.pk:
            return {name: self.cleaned_data[name] for name in self.changed_data}
        return dict(self.cleaned_data)


class FindingCreateForm(FindingForm):
    model = _model_field("record a finding on")

    field_order = ("model",)

    def __init__(self, *args, models, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["model"].queryset = models

    def service_data(self) -> dict:
        data = dict(self.cleaned_data)
        data.pop("model")
        return data


class FindingStatusForm(forms.Form):
    status = forms.ChoiceField(
        choices=[(v, label) for v, label in FindingStatus.choices if v != "risk_accepted"]
    )
    note = forms.CharField(widget=TEXTAREA, required=False)


class RiskAcceptanceForm(forms.Form):
    justification = forms.CharField(
        widget=TEXTAREA, help_text="Why the risk is accepted instead of remediated."
    )
