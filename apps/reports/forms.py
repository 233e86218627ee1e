"""The report request form of the Reports page and of a model's Reports tab.

One select names kind and format together ("Model card — PDF"), so only offered pairs can be
chosen; the as-of is a date (the end of that day in the user's zone, or now for today).
"""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils import timezone

from apps.core import clock
from apps.core.forms import ReferenceChoiceField, ReferenceMultipleChoiceField
from apps.core.widgets import ModelSearchInput, SearchSelectMultiple
from apps.inventory.choices import EUAIActClass, LifecycleStatus, RiskTier
from apps.inventory.models import BusinessUnit, RegisteredModel
from apps.reports.choices import KIND_FORMATS, ReportFormat, ReportKind
from apps.reports.selectors import may_generate

SHORT_FORMAT_LABELS = {
    ReportFormat.PDF: "PDF",
    ReportFormat.HTML: "HTML",
    ReportFormat.MARKDOWN: "Markdown (Hugging Face)",
    ReportFormat.MCT_JSON: "JSON (Model Card Toolkit)",
    ReportFormat.JSON: "JSON (mlgov)",
    ReportFormat.CSV: "CSV",
    ReportFormat.XLSX: "Excel",
    ReportFormat.ZIP: "ZIP",
}
MODEL_TAB_KINDS = (
    ReportKind.MODEL_CARD,
    ReportKind.LINEAGE,
    ReportKind.AUDIT_EXTRACT,
    ReportKind.EVIDENCE_PACK,
)


def report_choices(*, user, model: RegisteredModel | None, kinds=tuple(KIND_FORMATS)) -> list:
    """("kind:format", "Kind — Format") pairs the user may ask for, grouped by kind.

    Without a model, model cards are listed for users who may generate one of some model."""
    groups = []
    for kind in kinds:
        if not may_generate(user, kind, model):
            continue
        label = ReportKind(kind).label
        options = [
            (f"{kind}:{fmt}", f"{label} — {SHORT_FORMAT_LABELS[fmt]}") for fmt in KIND_FORMATS[kind]
        ]
        groups.append((label, options))
    return groups


def end_of_day(day: dt.date) -> dt.datetime:
    """The last moment of ``day`` in the user's zone, or now when that is still to come."""
    zone = timezone.get_current_timezone()
    moment = dt.datetime.combine(day, dt.time.max, tzinfo=zone)
    now = clock.now()
    return now if day == timezone.localdate() and moment > now else moment


CHECKBOXES = forms.CheckboxSelectMultiple(attrs={"class": "checkbox-list"})


class ReportRequestForm(forms.Form):
    report = forms.ChoiceField(label="Report")
    # A type-ahead box by slug, not a <select> of every model the user sees.
    model = ReferenceChoiceField(
        queryset=RegisteredModel.objects.none(),
        to_field_name="slug",
        required=False,
        widget=ModelSearchInput(attrs={"placeholder": "The whole inventory"}),
        help_text="Its slug (type part of its name or slug and pick it). Needed for a model "
        "card; optional for lineage, audit extract and evidence pack.",
        error_messages={"invalid_choice": "No model you see has the slug “%(value)s”."},
    )
    as_of = forms.DateField(
        label="As of",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Show the record as it stood at the end of this day (your time zone). "
        "Empty: now.",
    )
    # Register filters (the inventory list's).
    q = forms.CharField(label="Search", required=False)
    # A few options each: checkboxes (as in the inventory's filters), no Ctrl-click.
    risk_tier = forms.MultipleChoiceField(
        label="Risk tier", choices=RiskTier.choices, required=False, widget=CHECKBOXES
    )
    status = forms.MultipleChoiceField(
        label="Lifecycle status", choices=LifecycleStatus.choices, required=False, widget=CHECKBOXES
    )
    eu_ai_act_class = forms.MultipleChoiceField(
        label="EU AI Act class", choices=EUAIActClass.choices, required=False, widget=CHECKBOXES
    )
    business_unit = ReferenceMultipleChoiceField(
        label="Business unit",
        queryset=BusinessUnit.objects.all(),
        to_field_name="code",
        required=False,
        widget=SearchSelectMultiple(placeholder="Any business unit"),
    )
    # Audit extract period.
    start = forms.DateField(
        label="Audit events from",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    end = forms.DateField(
        label="Audit events to",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    REGISTER_FIELDS = ("q", "risk_tier", "status", "eu_ai_act_class", "business_unit")
    PERIOD_FIELDS = ("start", "end")

    def __init__(self, *args, user, models=None, model: RegisteredModel | None = None, **kwargs):
        """``model`` fixes the model (a model's tab); otherwise ``models`` are offered."""
        super().__init__(*args, **kwargs)
        self.fixed_model = model
        if model is not None:
            del self.fields["model"]
            kinds = MODEL_TAB_KINDS
        else:
            self.fields["model"].queryset = models
            kinds = tuple(KIND_FORMATS)
        choices = report_choices(user=user, model=model, kinds=kinds)
        self.fields["report"].choices = choices
        offered = {value.partition(":")[0] for _, options in choices for value, _ in options}
        if ReportKind.REGISTER not in offered:
            for name in self.REGISTER_FIELDS:
                self.fields.pop(name, None)
        if ReportKind.AUDIT_EXTRACT not in offered:
            for name in self.PERIOD_FIELDS:
                del self.fields[name]

    def clean_report(self) -> tuple[str, str]:
        kind, _, fmt = self.cleaned_data["report"].partition(":")
        return kind, fmt

    def _register_filters(self) -> dict:
        data = self.cleaned_data
        filters: dict = {}
        if data.get("q"):
            filters["q"] = data["q"]
        for name in ("risk_tier", "status", "eu_ai_act_class"):
            if data.get(name):
                filters[name] = list(data[name])
        if data.get("business_unit"):
            filters["business_unit"] = sorted(unit.code for unit in data["business_unit"])
        return filters

    def service_kwargs(self) -> dict:
        """The arguments of ``services.report_request`` (but the user)."""
        kind, fmt = self.cleaned_data["report"]
        model = self.fixed_model or self.cleaned_data.get("model")
        as_of = self.cleaned_data.get("as_of")
        scope: dict = {}
        if kind == ReportKind.REGISTER and "q" in self.fields:
            filters = self._register_filters()
            if filters:
                scope["filters"] = filters
        if kind == ReportKind.AUDIT_EXTRACT and "start" in self.fields:
            zone = timezone.get_current_timezone()
            if self.cleaned_data.get("start"):
                start = dt.datetime.combine(self.cleaned_data["start"], dt.time.min, tzinfo=zone)
                scope["start"] = start.isoformat()
            if self.cleaned_data.get("end"):
                end = dt.datetime.combine(self.cleaned_data["end"], dt.time.max, tzinfo=zone)
                scope["end"] = end.isoformat()
        if kind == ReportKind.REGISTER:
            model = None  # the register covers the inventory; the model select is ignored
        return {
            "kind": kind,
            "fmt": fmt,
            "model": model,
            "scope": scope,
            "as_of": end_of_day(as_of) if as_of else None,
        }
