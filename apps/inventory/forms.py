"""Browser forms of the inventory. They validate input shape only; the services decide.

Choice lists of people are limited to users holding the matching role (plus whoever is
currently named, so an existing record always re-validates). A model's people are offered by
their seat's rule (``apps/inventory/accountability.py``), the one the services enforce.
"""

from __future__ import annotations

import json

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet

from apps.accounts.models import User
from apps.core.forms import (
    ReferenceChoiceField,
    ReferenceMultipleChoiceField,
    SignedFormMixin,
    name_empty_choices,
    signature_password_field,
)
from apps.core.validators import json_problem
from apps.core.widgets import ModelSearchInput, SearchSelect, SearchSelectMultiple
from apps.inventory import accountability, lifecycle, risk
from apps.inventory.choices import (
    AnnexIIIPoint,
    DeploymentEnvironment,
    EUAIActClass,
    LifecycleStatus,
    RiskTier,
    VersionStage,
)
from apps.inventory.models import Dataset, ModelVersion, RegisteredModel
from apps.inventory.services import (
    DATASET_EDITABLE_FIELDS,
    DATASET_OWNER_ROLES,
    GOVERNED_TRANSITIONS,
    MODEL_EDITABLE_FIELDS,
    VERSION_EDITABLE_FIELDS,
)

TEXTAREA = forms.Textarea(attrs={"rows": 3})
DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def users_with_role(*names: str, keep: list[int | None] = ()) -> QuerySet[User]:
    """Active users holding one of the roles ``names``, plus the users in ``keep`` (currently
    named ones, so an existing record always re-validates)."""
    keep_ids = [pk for pk in keep if pk]
    return (
        User.objects.filter(Q(groups__name__in=names, is_active=True) | Q(pk__in=keep_ids))
        .distinct()
        .order_by("first_name", "last_name", "username")
    )


def person_label(obj: User) -> str:
    name = obj.get_full_name()
    return f"{name} ({obj.username})" if name else obj.username


class UserChoiceField(ReferenceChoiceField):
    """One person, searched by name among those offered (the people who may act)."""

    widget = SearchSelect
    label_from_instance = staticmethod(person_label)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("empty_label", "Choose a person…")
        super().__init__(*args, **kwargs)


class UserMultipleChoiceField(ReferenceMultipleChoiceField):
    """Several people as removable tags, searched by name: no Ctrl-click."""

    widget = SearchSelectMultiple
    label_from_instance = staticmethod(person_label)


def seat_choice_field(
    seat: accountability.Seat,
    *,
    keep: int | None = None,
    field_class: type[ReferenceChoiceField] = UserChoiceField,
    **kwargs,
) -> ReferenceChoiceField:
    """The picker of a model's seat: the people its rule accepts (``users_with_role`` of the
    seat's roles, as the services ask ``accountability.fits``), plus ``keep`` (whoever holds
    it now). A choice it does not offer is refused with the rule's own words. ``field_class``
    is a searchable ``UserChoiceField`` unless a plain select is asked for."""
    choose = accountability.choose(seat)
    return field_class(
        queryset=users_with_role(*seat.roles, keep=[keep]),
        required=seat.required,
        error_messages={"invalid_choice": choose, "required": choose},
        **kwargs,
    )


class JSONObjectField(forms.CharField):
    """A JSON object typed into a textarea, with a message that says where parsing failed.

    ``static/js/forms.js`` edits it as rows of ``key_label`` / ``value_label`` pairs and writes
    the same JSON object back into the textarea, so the server receives what it always did;
    without JavaScript the textarea is edited as JSON."""

    def __init__(
        self, *, example: str, key_label: str = "Name", value_label: str = "Value", **kwargs
    ):
        kwargs.setdefault("required", False)
        kwargs.setdefault(
            "widget",
            forms.Textarea(
                attrs={
                    "rows": 6,
                    "class": "code",
                    "spellcheck": "false",
                    "data-kv-editor": "",
                    "data-kv-key-label": key_label,
                    "data-kv-value-label": value_label,
                }
            ),
        )
        self.example = example
        super().__init__(strip=True, **kwargs)

    def prepare_value(self, value):
        if isinstance(value, dict | list):
            return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)
        return value

    def to_python(self, value):
        text = super().to_python(value)
        if not text:
            return {}
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValidationError(
                f"This is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno}). "
                f"Example: {self.example}",
                code="invalid_json",
            ) from exc
        if not isinstance(data, dict):
            raise ValidationError(
                f"Enter a JSON object in braces, e.g. {self.example}", code="not_object"
            )
        problem = json_problem(data)
        if problem:
            raise ValidationError(problem, code="unstorable_json")
        return data


def _slug_from_name(field: forms.Field) -> None:
    """``static/js/forms.js`` fills the slug in from the name as it is typed, until the user
    types a slug of their own."""
    field.widget.attrs.update({"data-slug-from": "name", "spellcheck": "false"})
    field.help_text = f"{field.help_text} Filled in from the name; change it if you like."


class GroupedFieldsMixin:
    """Fields shown in titled groups; text areas and checkbox lists take the full width."""

    field_groups: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def groups(self) -> list[tuple[str, list[tuple[forms.BoundField, bool]]]]:
        wide_widgets = (forms.Textarea, forms.CheckboxSelectMultiple)
        return [
            (
                title,
                [
                    (self[name], isinstance(self.fields[name].widget, wide_widgets))
                    for name in names
                    if name in self.fields
                ],
            )
            for title, names in self.field_groups
        ]


class RegisteredModelForm(GroupedFieldsMixin, forms.ModelForm):
    """Create or edit a model's descriptive and accountability fields."""

    class Meta:
        model = RegisteredModel
        fields = ("slug", *MODEL_EDITABLE_FIELDS, "developers")
        widgets = {
            "description": TEXTAREA,
            "purpose": forms.Textarea(attrs={"rows": 4}),
            "out_of_scope_uses": TEXTAREA,
            "intended_users": TEXTAREA,
            "inputs": TEXTAREA,
            "outputs": TEXTAREA,
            "downstream_consumers": TEXTAREA,
            "limitations": TEXTAREA,
            "assumptions": TEXTAREA,
            "ethical_considerations": TEXTAREA,
            "explainability": TEXTAREA,
            "next_review_date": DATE,
        }
        help_texts = {
            "slug": "The model's permanent identifier in URLs and the API, e.g. credit-scoring.",
            "vendor": "The supplier of a bought-in model.",
            "owner": "Accountable model owner (role: model owner or administrator).",
            "business_owner": "Signs off thresholds and deployments (role: business owner); "
            "not the owner nor a developer.",
            "validator": "Risk & compliance reviewer (role: validator); not the owner nor a "
            "developer.",
            "developers": "Model owners who may register versions of this model.",
        }

    field_groups = (
        ("Identity", ("name", "slug", "description")),
        (
            "Purpose and use",
            ("purpose", "out_of_scope_uses", "intended_users", "downstream_consumers"),
        ),
        (
            "Accountability",
            (
                "business_unit",
                "owner",
                "business_owner",
                "validator",
                "developers",
                "human_oversight_contact",
                "origin",
                "vendor",
            ),
        ),
        (
            "Technical",
            ("model_type", "algorithm", "inputs", "outputs", "assumptions", "limitations"),
        ),
        (
            "Risk, ethics and review",
            ("explainability", "ethical_considerations", "next_review_date"),
        ),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        instance = self.instance
        editing = instance.pk is not None
        if editing:
            del self.fields["slug"]
        else:
            _slug_from_name(self.fields["slug"])
        current_devs = list(instance.developers.all()) if editing else []
        self.fields["owner"] = seat_choice_field(
            accountability.OWNER,
            keep=instance.owner_id,
            label="Owner",
            help_text=self.Meta.help_texts["owner"],
        )
        self.fields["business_owner"] = seat_choice_field(
            accountability.BUSINESS_OWNER,
            keep=instance.business_owner_id,
            label="Business owner",
            help_text=self.Meta.help_texts["business_owner"],
        )
        self.fields["validator"] = seat_choice_field(
            accountability.VALIDATOR,
            keep=instance.validator_id,
            label="Validator",
            help_text=self.Meta.help_texts["validator"],
            empty_label="No validator named yet",
        )
        developers = accountability.DEVELOPERS
        self.fields["developers"] = UserMultipleChoiceField(
            queryset=users_with_role(*developers.roles, keep=[u.pk for u in current_devs]),
            required=False,
            widget=SearchSelectMultiple(placeholder="Type a name"),
            label="Developers",
            help_text=self.Meta.help_texts["developers"],
            error_messages={"invalid_choice": accountability.choose(developers)},
        )
        if editing:
            self.initial["developers"] = [u.pk for u in current_devs]
        name_empty_choices(self, business_unit="Choose a business unit…")

    def service_data(self) -> dict:
        """Keyword arguments for registered_model_create / _update."""
        data = {name: self.cleaned_data[name] for name in MODEL_EDITABLE_FIELDS}
        data["developers"] = list(self.cleaned_data.get("developers") or [])
        return data


class TransitionForm(SignedFormMixin, forms.Form):
    """A direct lifecycle move. Forward steps are offered first and the next one is chosen
    by default (never a step back, nor a move only a sign-off makes); moves that take the
    model out of production or retire it ask for the password (the service checks it as an
    electronic signature), or, with ``provider_name``, are signed at the identity provider."""

    target = forms.ChoiceField(label="Move to")
    reason = forms.CharField(
        label="Reason",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Required for retirement and for any step backwards.",
    )
    password = signature_password_field("this move")

    def __init__(self, *args, model: RegisteredModel, **kwargs):
        super().__init__(*args, **kwargs)
        labels = dict(LifecycleStatus.choices)
        # Moves that only a sign-off makes (approval, production, retiring an approved or
        # deployed model) are requested from the Approvals section, not offered here.
        targets = [
            t
            for t in lifecycle.ordered_targets(model.status)
            if (model.status, t) not in GOVERNED_TRANSITIONS
            and (None, t) not in GOVERNED_TRANSITIONS
        ]
        default = lifecycle.default_target(model.status, targets)
        choices = [(target, labels[target]) for target in targets]
        if default is None and choices:
            choices.insert(0, ("", "Choose a status…"))
        self.fields["target"].choices = choices
        self.fields["target"].initial = default or ""
        signed = [t for t in targets if lifecycle.needs_signature(current=model.status, target=t)]
        self.signed_targets = signed
        self.signed_labels = " or ".join(labels[t] for t in signed)
        if signed and "password" in self.fields:
            field = self.fields["password"]
            field.required = False
            field.help_text = (
                f"Needed to move to {self.signed_labels}: re-entering your password signs the "
                "move electronically."
            )
        else:
            self.fields.pop("password", None)


class RiskQuestionnaireForm(forms.Form):
    """The risk-tier questionnaire: one low / medium / high answer per factor."""

    eu_ai_act_class = forms.ChoiceField(
        label="EU AI Act class",
        choices=[("", "Choose…")]
        + [c for c in EUAIActClass.choices if c[0] != EUAIActClass.UNASSESSED],
    )
    eu_annex_iii_point = forms.ChoiceField(
        label="Annex III point",
        choices=AnnexIIIPoint.choices,
        required=False,
        help_text="Required when the class is high-risk.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, (question, levels) in risk.FACTORS.items():
            self.fields[name] = forms.ChoiceField(
                label=question,
                choices=[
                    (level, f"{level.capitalize()}: {meaning}") for level, meaning in levels.items()
                ],
                widget=forms.RadioSelect,
            )
        # Factors first, the legal class last, as the questionnaire reads.
        order = [*risk.FACTORS, "eu_ai_act_class", "eu_annex_iii_point"]
        self.order_fields(order)

    def clean(self):
        data = super().clean()
        if data.get("eu_ai_act_class") == EUAIActClass.HIGH_RISK and not data.get(
            "eu_annex_iii_point"
        ):
            self.add_error("eu_annex_iii_point", "Name the Annex III point of a high-risk model.")
        return data

    def answers(self) -> dict[str, str]:
        return {name: self.cleaned_data[name] for name in risk.FACTORS}


class RiskDecisionForm(forms.Form):
    tier = forms.TypedChoiceField(label="Tier", coerce=int, choices=RiskTier.choices)
    reason = forms.CharField(
        label="Reason",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Required when you override the suggested tier.",
    )


class ModelVersionForm(forms.ModelForm):
    """Register or edit a version: artefact, code, parameters, metrics and data lineage."""

    hyperparameters = JSONObjectField(
        label="Hyperparameters",
        example='{"max_depth": 6, "learning_rate": 0.1}',
        key_label="Parameter",
        help_text="One row per parameter; numbers, true/false and lists are kept as such.",
    )
    evaluation_metrics = JSONObjectField(
        label="Evaluation metrics",
        example='{"auc": 0.81, "brier": 0.12}',
        key_label="Metric",
        help_text="One row per metric measured at evaluation, e.g. auc 0.81.",
    )
    # Type-ahead tags: the page holds the chosen datasets only, never the whole catalogue.
    training_datasets = ReferenceMultipleChoiceField(
        queryset=Dataset.objects.none(),
        required=False,
        label="Trained on",
        widget=SearchSelectMultiple(
            suggest_url_name="inventory:dataset_suggest", placeholder="Type a dataset's name"
        ),
    )
    evaluation_datasets = ReferenceMultipleChoiceField(
        queryset=Dataset.objects.none(),
        required=False,
        label="Evaluated on",
        widget=SearchSelectMultiple(
            suggest_url_name="inventory:dataset_suggest", placeholder="Type a dataset's name"
        ),
    )

    class Meta:
        model = ModelVersion
        fields = ("version", *VERSION_EDITABLE_FIELDS)
        widgets = {"description": TEXTAREA}
        help_texts = {
            "version": "Letters, digits, dots, hyphens, plus or underscores, e.g. 1.4.0.",
            "artifact_sha256": "64 lowercase hexadecimal characters.",
        }

    def __init__(self, *args, datasets: QuerySet[Dataset], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["training_datasets"].queryset = datasets
        self.fields["evaluation_datasets"].queryset = datasets
        if self.instance.pk is not None:
            del self.fields["version"]
            links = list(self.instance.dataset_links.all())
            self.initial["training_datasets"] = [
                link.dataset_id for link in links if link.role == "trained_on"
            ]
            self.initial["evaluation_datasets"] = [
                link.dataset_id for link in links if link.role == "evaluated_on"
            ]
        name_empty_choices(self)

    def service_data(self) -> dict:
        data = {name: self.cleaned_data[name] for name in VERSION_EDITABLE_FIELDS}
        data["training_datasets"] = list(self.cleaned_data["training_datasets"])
        data["evaluation_datasets"] = list(self.cleaned_data["evaluation_datasets"])
        return data


class VersionStageForm(SignedFormMixin, forms.Form):
    """Move a version to another stage; taking the production version out of production asks
    for the password (an electronic signature, checked by the service), or, with
    ``provider_name``, is signed at the identity provider."""

    stage = forms.ChoiceField(label="Move to stage")
    password = signature_password_field("taking this version out of production")

    def __init__(self, *args, version: ModelVersion, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["stage"].choices = [
            (value, label) for value, label in VersionStage.choices if value != version.stage
        ]
        self.signed = version.stage == VersionStage.PRODUCTION
        if self.signed and "password" in self.fields:
            self.fields["password"].required = False  # the service says what is missing
        else:
            self.fields.pop("password", None)


class DeploymentForm(forms.Form):
    version = ReferenceChoiceField(queryset=ModelVersion.objects.none(), label="Version")
    environment = forms.ChoiceField(choices=DeploymentEnvironment.choices)
    endpoint = forms.CharField(max_length=300, required=False)
    consumers = forms.CharField(
        required=False,
        widget=TEXTAREA,
        help_text="Systems or teams consuming the outputs.",
    )
    deployed_at = forms.DateTimeField(
        required=False,
        label="Deployed at",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"],
        help_text="In your time zone; leave empty for now.",
    )

    def __init__(self, *args, versions: QuerySet[ModelVersion], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["version"].queryset = versions
        self.fields["version"].label_from_instance = lambda v: (
            f"{v.version} ({v.get_stage_display()})"
        )


class DependencyForm(forms.Form):
    # A type-ahead box by slug, not a <select> of every model the user sees.
    upstream = ReferenceChoiceField(
        queryset=RegisteredModel.objects.none(),
        to_field_name="slug",
        label="Upstream model",
        widget=ModelSearchInput(),
        help_text="The model whose output is an input of this one: its slug (type part of its "
        "name or slug and pick it).",
        error_messages={
            "invalid_choice": "No other model you see has the slug “%(value)s”.",
        },
    )
    description = forms.CharField(max_length=300, required=False)

    def __init__(self, *args, models: QuerySet[RegisteredModel], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["upstream"].queryset = models


class DatasetForm(GroupedFieldsMixin, forms.ModelForm):
    class Meta:
        model = Dataset
        fields = ("slug", *DATASET_EDITABLE_FIELDS)
        widgets = {
            "description": TEXTAREA,
            "motivation": TEXTAREA,
            "composition": TEXTAREA,
            "collection_process": TEXTAREA,
            "preprocessing": TEXTAREA,
            "known_gaps": TEXTAREA,
        }
        help_texts = {
            "slug": "Permanent identifier, e.g. shipments-2024.",
            "content_hash": "SHA-256 of the data, 64 lowercase hexadecimal characters.",
        }

    field_groups = (
        ("Dataset", ("name", "slug", "description", "owner", "contains_personal_data")),
        ("Location and version", ("uri", "version", "content_hash")),
        (
            "Datasheet",
            ("motivation", "composition", "collection_process", "preprocessing", "known_gaps"),
        ),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            del self.fields["slug"]
        else:
            _slug_from_name(self.fields["slug"])
        keep = [self.instance.owner_id] if self.instance.pk else []
        self.fields["owner"] = UserChoiceField(
            queryset=users_with_role(*DATASET_OWNER_ROLES, keep=keep),
            label="Owner",
            help_text="Keeps the datasheet up to date (role: model owner, validator or "
            "administrator).",
        )
        name_empty_choices(self)

    def service_data(self) -> dict:
        return {name: self.cleaned_data[name] for name in DATASET_EDITABLE_FIELDS}
