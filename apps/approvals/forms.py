"""Forms of the approvals pages. They collect input; the engine decides."""

from __future__ import annotations

import json

from django import forms

from apps.approvals.choices import ApprovalKind, Verdict
from apps.approvals.models import GateOverride
from apps.core.forms import SignedFormMixin, signature_password_field

# Kinds a user asks for from the model page; the others start from their own pages
# (thresholds, reviews, findings, risk tiers).
VERSION_KINDS = (ApprovalKind.VALIDATION_SIGNOFF, ApprovalKind.PROMOTION)
MODEL_KINDS = (ApprovalKind.RETIREMENT,)
INVENTORY_KINDS = VERSION_KINDS + MODEL_KINDS


class DecisionForm(SignedFormMixin, forms.Form):
    """An electronic signature: the verdict, the password again (or, with
    ``provider_name``, a re-authentication at the identity provider), and a comment."""

    verdict = forms.ChoiceField(choices=Verdict.choices, widget=forms.RadioSelect)
    password = signature_password_field("this decision")
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
    """Ask for a sign-off about a model or one of its versions.

    Given ``refusals`` (``ModelHooks.request_refusals``: why each request would be refused
    now, None where it would be accepted), it offers only the kinds and versions the engine
    would accept, refuses a combination it would not with the engine's reason, and lists
    what cannot be asked for now and why (``unavailable``).
    """

    kind = forms.ChoiceField(choices=[(k.value, k.label) for k in INVENTORY_KINDS])
    version = forms.ChoiceField(required=False, help_text="For validation and promotion.")
    justification = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Why this is requested (required for retirement).",
    )

    def __init__(
        self, *args, versions=(), kinds=INVENTORY_KINDS, refusals=None, model=None, **kwargs
    ):
        super().__init__(*args, **kwargs)
        self.refusals = refusals
        self.model = model
        self.unavailable: list[tuple[str, str]] = []
        self.version_offers: dict[str, list[str]] = {}  # kind -> the versions offered for it
        versions = list(versions)
        if refusals is not None:
            kinds, versions = self._offered(kinds, versions)
        self.versions = {v.version: v for v in versions}
        self.fields["kind"].choices = [(k.value, k.label) for k in kinds]
        self.fields["version"].choices = [("", "—")] + [(v, v) for v in self.versions]

    def _offered(self, kinds, versions):
        """The kinds with something to ask for, the versions with some kind to ask for, and
        the rest with the reasons (one line per kind and reason, naming its versions)."""
        refusals = self.refusals
        offered_kinds, offered_versions = [], set()
        for kind in kinds:
            kind = ApprovalKind(kind)
            if kind in VERSION_KINDS:
                accepted = [v for v in versions if refusals.get((kind, v.pk)) is None]
                offered_versions.update(v.pk for v in accepted)
                self.version_offers[kind.value] = [v.version for v in accepted]
                by_reason: dict[str, list[str]] = {}
                for v in versions:
                    reason = refusals.get((kind, v.pk))
                    if reason is not None:
                        by_reason.setdefault(reason, []).append(v.version)
                for reason, names in by_reason.items():
                    self.unavailable.append((f"{kind.label} of {', '.join(names)}", reason))
            else:
                reason = refusals.get((kind, self.model.pk)) if self.model is not None else None
                accepted = [self.model] if reason is None else []
                if reason is not None:
                    self.unavailable.append((kind.label, reason))
            if accepted:
                offered_kinds.append(kind)
        return offered_kinds, [v for v in versions if v.pk in offered_versions]

    @property
    def offers_json(self) -> str:
        """``version_offers`` for the page's script, which keeps the version choices to
        those offered for the chosen kind (``static/js/request-offers.js``)."""
        return json.dumps(self.version_offers)

    @property
    def offers_anything(self) -> bool:
        return bool(self.fields["kind"].choices)

    def refusal(self, kind: str, subject) -> str | None:
        """Why asking for ``kind`` about ``subject`` would be refused now (None: accepted,
        or not known to the form)."""
        if self.refusals is None or subject is None:
            return None
        return self.refusals.get((kind, subject.pk))

    def clean(self):
        data = super().clean()
        kind = data.get("kind")
        if kind in VERSION_KINDS:
            version = self.versions.get(data.get("version") or "")
            if version is None:
                self.add_error("version", "Choose the version to sign off.")
            else:
                refusal = self.refusal(kind, version)
                if refusal:
                    self.add_error("version", refusal)
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
