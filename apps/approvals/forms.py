"""Forms of the approvals pages. They collect input; the engine decides."""

from __future__ import annotations

from django import forms

from apps.approvals.choices import ApprovalKind, Verdict
from apps.approvals.models import GateOverride

# Kinds a user asks for from the model page; the others start from their own pages
# (thresholds, reviews, findings, risk tiers).
VERSION_KINDS = (ApprovalKind.VALIDATION_SIGNOFF, ApprovalKind.PROMOTION)
MODEL_KINDS = (ApprovalKind.RETIREMENT,)
INVENTORY_KINDS = VERSION_KINDS + MODEL_KINDS


class DecisionForm(forms.Form):
    """An electronic signature: the verdict, the password again, and a comment."""

    verdict = forms.ChoiceField(choices=Verdict.choices, widget=forms.RadioSelect)
    password = forms.CharField(
        label="Your password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        help_text="Re-entering your password signs this decision electronically.",
    )
    comment = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Required to reject or request changes.",
    )

    def clean(self):
        data = super().clean()
        verdict = data.get("verdict")
        if verdict and verdict != Verdict.APPROVE and not (data.get("comment") or "").strip():
            self.add_error(
                "comment", "Say why: a comment is required to reject or request changes."
            )
        return data


class ApprovalRequestForm(forms.Form):
    """Ask for a sign-off about a model or one of its versions."""

    kind = forms.ChoiceField(choices=[(k.value, k.label) for k in INVENTORY_KINDS])
    version = forms.ChoiceField(required=False, help_text="For validation and promotion.")
    justification = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Why this is requested (required for retirement).",
    )

    def __init__(self, *args, versions=(), kinds=INVENTORY_KINDS, **kwargs):
        super().__init__(*args, **kwargs)
        self.versions = {v.version: v for v in versions}
        self.fields["kind"].choices = [(k.value, k.label) for k in kinds]
        self.fields["version"].choices = [("", "—")] + [(v, v) for v in self.versions]

    def clean(self):
        data = super().clean()
        kind = data.get("kind")
        if kind in VERSION_KINDS:
            version = self.versions.get(data.get("version") or "")
            if version is None:
                self.add_error("version", "Choose the version to sign off.")
            data["subject"] = version
        return data


class WithdrawForm(forms.Form):
    reason = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))


class GateLiftForm(forms.Form):
    """An administrator lifts a gate for a limited time, saying why."""

    gate = forms.ChoiceField(choices=GateOverride.Gate.choices)
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))
    days = forms.IntegerField(
        min_value=1, max_value=90, initial=30, help_text="How long the override lasts."
    )
