"""Serializers of the inventory API: shapes only. Writes go through apps.inventory.services.

People are named by username, business units by code, datasets by slug and choices by their
stored value; read-only fields add the human labels.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.reverse import reverse

from apps.accounts.api.signatures import SignedSerializerMixin, id_token_field, password_field
from apps.approvals.choices import RequestStatus
from apps.core.api.fields import (
    DateTimeField,
    ModelSerializer,
    ReferenceField,
    SlugRelatedField,
    UsernameField,
)
from apps.inventory import accountability, risk, selectors
from apps.inventory.choices import (
    AnnexIIIPoint,
    DatasetRole,
    DeploymentEnvironment,
    EUAIActClass,
    LifecycleStatus,
    RiskTier,
    VersionStage,
)
from apps.inventory.models import (
    BusinessUnit,
    Dataset,
    Deployment,
    ModelVersion,
    RegisteredModel,
    RiskAssessment,
)
from apps.inventory.services import (
    DATASET_EDITABLE_FIELDS,
    MODEL_EDITABLE_FIELDS,
    MODEL_GOVERNED_FIELDS,
)


@extend_schema_field(OpenApiTypes.STR)
class DatasetSlugField(SlugRelatedField):
    """A dataset named by slug, looked up among the datasets the requesting user may see."""

    def __init__(self, **kwargs):
        super().__init__(slug_field="slug", **kwargs)

    def get_queryset(self):
        return selectors.dataset_list(user=self.context["request"].user)


class VersionDatasetsField(serializers.ManyRelatedField):
    """The slugs of the datasets a version was trained (or evaluated) on.

    Reads the version's prefetched ``dataset_links``, so listing versions costs no query per row.
    """

    def __init__(self, *, role: str, **kwargs):
        self.role = role
        kwargs.setdefault("required", False)
        super().__init__(child_relation=DatasetSlugField(), **kwargs)

    def get_attribute(self, instance):
        if instance.pk is None:
            return []
        return [link.dataset for link in instance.dataset_links.all() if link.role == self.role]


@extend_schema_field(OpenApiTypes.URI)
class ModelVersionUrlField(serializers.Field):
    """API URL of a version (nested under its model, so two lookup values)."""

    def __init__(self, **kwargs):
        kwargs["read_only"] = True
        kwargs["source"] = "*"
        super().__init__(**kwargs)

    def to_representation(self, value: ModelVersion) -> str:
        return reverse(
            "api:model-version-detail",
            kwargs={"model_slug": value.model.slug, "version": value.version},
            request=self.context.get("request"),
        )


# --- registered models -------------------------------------------------------------------


class RegisteredModelSerializer(ModelSerializer):
    """A model's inventory record. Risk, EU class and lifecycle fields are read-only here:
    they change through risk assessments and lifecycle transitions."""

    url = serializers.HyperlinkedIdentityField(view_name="api:model-detail", lookup_field="slug")
    web_url = serializers.CharField(source="get_absolute_url", read_only=True)
    business_unit = SlugRelatedField(slug_field="code", queryset=BusinessUnit.objects.all())
    business_unit_name = serializers.CharField(source="business_unit.name", read_only=True)
    # Who may be named is the services' rule (``apps/inventory/accountability.py``): a
    # refusal answers 400 naming the field.
    owner = UsernameField(
        required=False,
        help_text=f"Username of the accountable owner, {accountability.OWNER.who}; "
        "defaults to you.",
    )
    developers = UsernameField(
        many=True, required=False, help_text=f"Usernames of {accountability.DEVELOPERS.who}."
    )
    business_owner = UsernameField(
        help_text=f"Username of {accountability.BUSINESS_OWNER.who}, neither the owner nor "
        "a developer."
    )
    validator = UsernameField(
        required=False,
        allow_null=True,
        help_text=f"Username of {accountability.VALIDATOR.who}; neither the owner nor a developer.",
    )
    risk_tier_label = serializers.CharField(source="get_risk_tier_display", read_only=True)
    risk_assessed_by = UsernameField(read_only=True)
    eu_ai_act_class_label = serializers.CharField(
        source="get_eu_ai_act_class_display", read_only=True
    )
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    created_by = UsernameField(read_only=True)

    class Meta:
        model = RegisteredModel
        # The model's editable and governed fields (one list each, in the services), with
        # the links, the display labels and the record's own dates.
        fields = (
            "url",
            "web_url",
            "slug",
            *MODEL_EDITABLE_FIELDS,
            "developers",
            *MODEL_GOVERNED_FIELDS,
            "business_unit_name",
            "risk_tier_label",
            "eu_ai_act_class_label",
            "status_label",
            "created_by",
            "created_at",
            "updated_at",
        )
        # Changed only through the governance workflow (``risk_assessed_by`` is declared
        # read-only above), and the record's own dates.
        read_only_fields = (*MODEL_GOVERNED_FIELDS, "created_at", "updated_at")
        # Uniqueness is the service's to check (one query, one clear message, atomic).
        extra_kwargs = {"slug": {"validators": []}}


# The columns a list row reads (``values()``): no model objects, no per-row lookups.
MODEL_LIST_COLUMNS = {
    "slug": "slug",
    "name": "name",
    "business_unit": "business_unit__code",
    "business_unit_name": "business_unit__name",
    "owner": "owner__username",
    "business_owner": "business_owner__username",
    "validator": "validator__username",
    "risk_tier": "risk_tier",
    "eu_ai_act_class": "eu_ai_act_class",
    "eu_annex_iii_point": "eu_annex_iii_point",
    "status": "status",
    "next_review_date": "next_review_date",
    "updated_at": "updated_at",
}
_TIER_LABELS = dict(RiskTier.choices)
_EU_LABELS = dict(EUAIActClass.choices)
_STATUS_LABELS = dict(LifecycleStatus.choices)


class RegisteredModelListSerializer(serializers.Serializer):
    """One row of the model list: what a list needs to show and filter a model, and ``url``,
    its full record (the detail has every field). ``?fields=name,status`` keeps only those
    fields (``url`` and ``slug`` always stay).

    Rows are the dictionaries of ``selectors.model_list_rows``; the representation is built
    directly, without a field object per value, so a page of 500 costs little Python."""

    url = serializers.URLField(read_only=True, help_text="The model's full record (API).")
    # Only ``url`` and ``slug`` are in every row: ``?fields=`` may leave out any other, so
    # the schema names no other field required.
    web_url = serializers.CharField(required=False, help_text="The model's page.")
    slug = serializers.SlugField(read_only=True)
    name = serializers.CharField(required=False)
    business_unit = serializers.CharField(required=False, help_text="Business unit code.")
    business_unit_name = serializers.CharField(required=False)
    owner = serializers.CharField(required=False, help_text="Username.")
    business_owner = serializers.CharField(required=False, help_text="Username.")
    validator = serializers.CharField(required=False, allow_null=True, help_text="Username.")
    risk_tier = serializers.ChoiceField(choices=RiskTier.choices, required=False, allow_null=True)
    risk_tier_label = serializers.CharField(required=False, allow_null=True)
    eu_ai_act_class = serializers.ChoiceField(choices=EUAIActClass.choices, required=False)
    eu_ai_act_class_label = serializers.CharField(required=False)
    eu_annex_iii_point = serializers.CharField(required=False)
    status = serializers.ChoiceField(choices=LifecycleStatus.choices, required=False)
    status_label = serializers.CharField(required=False)
    next_review_date = serializers.DateField(required=False, allow_null=True)
    updated_at = DateTimeField(required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        self._api_url = self._web_url = None  # reversed on the first row (see _urls)
        self._date = serializers.DateField()
        self._stamp = self.fields["updated_at"]
        wanted = request.query_params.get("fields", "") if request is not None else ""
        keep = {f.strip() for f in wanted.split(",") if f.strip()}
        self._keep = (keep | {"url", "slug"}) if keep else None

    def _urls(self) -> None:
        """Each URL reversed once per page, then completed per row: prefix + slug + suffix.
        Not in ``__init__``: the schema generator makes a serializer with a request of its
        own, whose host a production ``ALLOWED_HOSTS`` refuses."""
        marker = "zzslugzz"
        request = self.context.get("request")
        api = reverse("api:model-detail", kwargs={"slug": marker}, request=request)
        web = reverse("inventory:model_detail", kwargs={"slug": marker})
        self._api_url = api.rsplit(marker, 1)
        self._web_url = web.rsplit(marker, 1)

    def to_representation(self, row: dict) -> dict:
        if self._api_url is None:
            self._urls()
        slug = row["slug"]
        tier, eu, status = row["risk_tier"], row["eu_ai_act_class"], row["status"]
        review = row["next_review_date"]
        data = {
            "url": slug.join(self._api_url),
            "web_url": slug.join(self._web_url),
            "slug": slug,
            "name": row["name"],
            "business_unit": row["business_unit__code"],
            "business_unit_name": row["business_unit__name"],
            "owner": row["owner__username"],
            "business_owner": row["business_owner__username"],
            "validator": row["validator__username"],
            "risk_tier": tier,
            "risk_tier_label": str(_TIER_LABELS.get(tier, tier)) if tier is not None else None,
            "eu_ai_act_class": eu,
            "eu_ai_act_class_label": str(_EU_LABELS.get(eu, eu)),
            "eu_annex_iii_point": row["eu_annex_iii_point"],
            "status": status,
            "status_label": str(_STATUS_LABELS.get(status, status)),
            "next_review_date": self._date.to_representation(review) if review else None,
            "updated_at": self._stamp.to_representation(row["updated_at"]),
        }
        if self._keep is not None:
            data = {k: v for k, v in data.items() if k in self._keep}
        return data


class RegisteredModelUpdateSerializer(RegisteredModelSerializer):
    """Editing a model: the slug is its stable identifier, set at registration, never renamed."""

    class Meta(RegisteredModelSerializer.Meta):
        read_only_fields = ("slug", *RegisteredModelSerializer.Meta.read_only_fields)


class TransitionSerializer(SignedSerializerMixin, serializers.Serializer):
    """A lifecycle move; taking a model out of production and retiring it are signed with
    ``password`` or ``id_token`` (never both; the service says when one is missing)."""

    signature_required = False

    target = serializers.ChoiceField(
        choices=LifecycleStatus.choices, help_text="Lifecycle status to move to."
    )
    reason = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text="Required for retirement and for every step backwards.",
    )
    password = password_field("taking a model out of production or retiring it")
    id_token = id_token_field()


class LineageNodeSerializer(serializers.Serializer):
    """One node of a lineage graph; which optional fields appear depends on ``type``."""

    id = serializers.CharField(help_text="Stable id, e.g. model:<slug>, version:<slug>@<v>.")
    type = serializers.ChoiceField(choices=["model", "version", "dataset", "deployment"])
    label = serializers.CharField()
    slug = serializers.CharField(required=False)
    stage = serializers.CharField(required=False)
    artifact_sha256 = serializers.CharField(required=False)
    content_hash = serializers.CharField(required=False)
    environment = serializers.CharField(required=False)
    status = serializers.CharField(required=False)
    consumers = serializers.CharField(required=False)


class LineageEdgeSerializer(serializers.Serializer):
    source = serializers.CharField()
    target = serializers.CharField()
    type = serializers.ChoiceField(
        choices=["has_version", "trained_on", "evaluated_on", "deployed_as", "feeds"]
    )


class LineageSerializer(serializers.Serializer):
    nodes = LineageNodeSerializer(many=True)
    edges = LineageEdgeSerializer(many=True)


class InventoryLineageSerializer(LineageSerializer):
    """The inventory's graph; with ``?limit`` one page of it and the cursor of the next."""

    next = serializers.CharField(
        required=False,
        allow_null=True,
        help_text="With ?limit: pass it as cursor for the following page (null on the last).",
    )


# --- risk assessments --------------------------------------------------------------------


class RiskAssessmentSerializer(ModelSerializer):
    """A dated, attributed risk-tier decision: the questionnaire, the suggestion, a validator's
    proposal (``decided_*``) and its approval by a second validator (``approved_*``, through
    the risk-tier-change request ``approval_request``)."""

    url = serializers.SerializerMethodField()
    model = SlugRelatedField(slug_field="slug", read_only=True)
    eu_annex_iii_point = serializers.SerializerMethodField()
    suggested_tier_label = serializers.CharField(
        source="get_suggested_tier_display", read_only=True
    )
    decided_tier_label = serializers.CharField(source="get_decided_tier_display", read_only=True)
    assessed_by = UsernameField(read_only=True)
    decided_by = UsernameField(read_only=True)
    approved_by = UsernameField(read_only=True)
    approval_request = serializers.IntegerField(
        source="approval_request_id",
        read_only=True,
        allow_null=True,
        help_text="The latest risk-tier-change approval request of this assessment, if any "
        "(see /api/v1/approvals/{id}/).",
    )
    approval_request_status = serializers.ChoiceField(
        choices=RequestStatus.choices, read_only=True, allow_null=True
    )

    class Meta:
        model = RiskAssessment
        fields = (
            "id",
            "url",
            "model",
            "answers",
            "eu_ai_act_class",
            "eu_annex_iii_point",
            "suggested_tier",
            "suggested_tier_label",
            "suggested_rationale",
            "points",
            "assessed_by",
            "assessed_at",
            "status",
            "decided_tier",
            "decided_tier_label",
            "decision_reason",
            "decided_by",
            "decided_at",
            "approved_by",
            "approved_at",
            "approval_request",
            "approval_request_status",
        )
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, obj: RiskAssessment) -> str:
        return reverse(
            "api:model-risk-assessment-detail",
            kwargs={"model_slug": obj.model.slug, "pk": obj.pk},
            request=self.context.get("request"),
        )

    def get_eu_annex_iii_point(self, obj: RiskAssessment) -> str:
        return obj.answers.get("eu_annex_iii_point", "")


# The EU classes a questionnaire may conclude (everything but "not yet assessed").
ASSESSED_EU_CLASSES = [c for c in EUAIActClass.choices if c[0] != EUAIActClass.UNASSESSED]


def _factor_field(name: str) -> serializers.ChoiceField:
    question, levels = risk.FACTORS[name]
    help_text = question + ": " + "; ".join(f"{k} = {v}" for k, v in levels.items())
    return serializers.ChoiceField(choices=list(levels), help_text=help_text)


class RiskQuestionnaireSerializer(serializers.Serializer):
    """The risk questionnaire: each factor answered low, medium or high, plus the EU class."""

    financial_exposure = _factor_field("financial_exposure")
    customer_impact = _factor_field("customer_impact")
    regulatory_use = _factor_field("regulatory_use")
    automation = _factor_field("automation")
    complexity = _factor_field("complexity")
    eu_ai_act_class = serializers.ChoiceField(choices=ASSESSED_EU_CLASSES)
    eu_annex_iii_point = serializers.ChoiceField(
        choices=AnnexIIIPoint.choices,
        required=False,
        allow_blank=True,
        default="",
        help_text="Required when the class is high-risk, e.g. 5(b).",
    )


class RiskDecisionSerializer(serializers.Serializer):
    tier = serializers.ChoiceField(choices=RiskTier.choices)
    reason = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text="Required when overriding the suggested tier.",
    )


# --- versions ----------------------------------------------------------------------------


class ModelVersionSerializer(ModelSerializer):
    """A registered version: artefact, code, parameters, metrics and data lineage."""

    url = ModelVersionUrlField()
    web_url = serializers.CharField(source="get_absolute_url", read_only=True)
    model = SlugRelatedField(slug_field="slug", read_only=True)
    training_datasets = VersionDatasetsField(
        role=DatasetRole.TRAINED_ON, help_text="Slugs of the datasets it was trained on."
    )
    evaluation_datasets = VersionDatasetsField(
        role=DatasetRole.EVALUATED_ON, help_text="Slugs of the datasets it was evaluated on."
    )
    stage_label = serializers.CharField(source="get_stage_display", read_only=True)
    is_locked = serializers.BooleanField(read_only=True)
    approved_by = UsernameField(read_only=True)
    created_by = UsernameField(read_only=True)

    class Meta:
        model = ModelVersion
        fields = (
            "url",
            "web_url",
            "model",
            "version",
            "description",
            "artifact_uri",
            "artifact_sha256",
            "code_commit",
            "hyperparameters",
            "evaluation_metrics",
            "training_datasets",
            "evaluation_datasets",
            "stage",
            "stage_label",
            "is_locked",
            "approved_at",
            "approved_by",
            "created_by",
            "created_at",
        )
        read_only_fields = ("stage", "approved_at", "created_at")


class ModelVersionUpdateSerializer(ModelVersionSerializer):
    """Editing an unapproved version: the version string is fixed once registered."""

    class Meta(ModelVersionSerializer.Meta):
        read_only_fields = ("version", *ModelVersionSerializer.Meta.read_only_fields)


class StageSerializer(SignedSerializerMixin, serializers.Serializer):
    """A stage move; taking the production version out of production is signed with
    ``password`` or ``id_token`` (never both; the service says when one is missing)."""

    signature_required = False

    stage = serializers.ChoiceField(choices=VersionStage.choices)
    password = password_field("taking the production version out of production")
    id_token = id_token_field()


# --- datasets ----------------------------------------------------------------------------


class DatasetSerializer(ModelSerializer):
    """A dataset and its datasheet."""

    url = serializers.HyperlinkedIdentityField(view_name="api:dataset-detail", lookup_field="slug")
    web_url = serializers.CharField(source="get_absolute_url", read_only=True)
    owner = UsernameField(required=False, help_text="Username of the owner; defaults to you.")
    created_by = UsernameField(read_only=True)

    class Meta:
        model = Dataset
        fields = (
            "url",
            "web_url",
            "slug",
            *DATASET_EDITABLE_FIELDS,
            "created_by",
            "created_at",
            "updated_at",
        )
        read_only_fields = ("created_at", "updated_at")
        extra_kwargs = {"slug": {"validators": []}}


class DatasetUpdateSerializer(DatasetSerializer):
    """Editing a dataset: the slug is fixed once registered."""

    class Meta(DatasetSerializer.Meta):
        read_only_fields = ("slug", *DatasetSerializer.Meta.read_only_fields)


# --- deployments -------------------------------------------------------------------------


class DeploymentSerializer(ModelSerializer):
    """Where a version serves. Created by naming the model slug and the version string."""

    url = serializers.HyperlinkedIdentityField(view_name="api:deployment-detail")
    model = serializers.SlugField(
        source="version.model.slug", help_text="Slug of the registered model."
    )
    version = ReferenceField(
        source="version.version", help_text="Version string of the deployed version."
    )
    environment = serializers.ChoiceField(choices=DeploymentEnvironment.choices)
    environment_label = serializers.CharField(source="get_environment_display", read_only=True)
    created_by = UsernameField(read_only=True)

    class Meta:
        model = Deployment
        fields = (
            "id",
            "url",
            "model",
            "version",
            "environment",
            "environment_label",
            "endpoint",
            "consumers",
            "status",
            "deployed_at",
            "created_by",
            "created_at",
        )
        read_only_fields = ("status", "created_at")
        extra_kwargs = {"deployed_at": {"required": False, "help_text": "Defaults to now."}}

    def validate(self, attrs):
        """Resolve model slug + version string to a version the user may see (field errors)."""
        user = self.context["request"].user
        ref = attrs.pop("version")
        model = selectors.model_list(user=user).filter(slug=ref["model"]["slug"]).first()
        if model is None:
            raise serializers.ValidationError({"model": ["No such model."]})
        version = (
            selectors.version_list(user=user, model=model).filter(version=ref["version"]).first()
        )
        if version is None:
            raise serializers.ValidationError(
                {"version": [f"{model.slug} has no version {ref['version']!r}."]}
            )
        attrs["version"] = version
        return attrs
