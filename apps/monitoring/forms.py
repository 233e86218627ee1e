"""Browser forms of monitoring. They validate input shape only; the services decide."""

from __future__ import annotations

from django import forms

from apps.core.widgets import SearchSelect
from apps.inventory.models import RegisteredModel
from apps.monitoring.choices import BreachDirection, default_breach_direction
from apps.monitoring.models import MetricDefinition, Threshold
from apps.monitoring.selectors import metric_list, model_metrics
from apps.monitoring.services import THRESHOLD_EDITABLE_FIELDS


class ThresholdForm(forms.ModelForm):
    """Draft or edit a threshold of one model; versions offered are that model's.

    The metrics offered are the model's own: those recorded for its versions, plus the one
    the threshold watches now. Any other metric defined in mlgov (not recorded for this model
    yet) is named by typing it (``data-allow-create``): the field accepts every defined metric
    by name and says so when the name is not one."""

    metric = forms.ModelChoiceField(
        queryset=MetricDefinition.objects.none(),
        to_field_name="name",
        label="Metric",
        widget=SearchSelect(attrs={"data-allow-create": ""}),
        error_messages={
            "invalid_choice": "No metric named “%(value)s” is defined in mlgov; a validator or "
            "an administrator defines metrics (API: /api/v1/metrics/)."
        },
    )

    class Meta:
        model = Threshold
        fields = THRESHOLD_EDITABLE_FIELDS
        widgets = {
            "rationale": forms.Textarea(attrs={"rows": 3}),
            "review_by": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "version": SearchSelect,
        }

    def __init__(self, *args, model: RegisteredModel, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["version"].queryset = model.versions.order_by("-created_at")
        self.fields["version"].empty_label = "All versions"
        metric = self.fields["metric"]
        metric.queryset = metric_list()
        offered = {m.name: m for m in model_metrics(model=model).only("id", "name", "unit")}
        current = self.instance.metric if self.instance.metric_id else None
        if current is not None:
            offered.setdefault(current.name, current)
        typed = self.data.get(self.add_prefix("metric")) if self.is_bound else None
        choices = [("", "Choose a metric…")]
        choices += [(name, _metric_label(m)) for name, m in sorted(offered.items())]
        if typed and typed not in offered:
            choices.append((typed, typed))  # shown again with its message if undefined
        metric.widget.choices = choices
        metric.help_text = (
            "The metrics recorded for this model. To watch a metric not recorded yet, type "
            "its name."
        )
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


def _metric_label(metric: MetricDefinition) -> str:
    return f"{metric.name} ({metric.unit})" if metric.unit else metric.name
