"""Admin for the inventory. Risk tier, EU class and lifecycle fields are read-only here: they
change only through the questionnaire, the validator's decision and lifecycle transitions."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import AutocompleteSelectMultiple

from apps.core.admin import ReadOnlyModelAdmin, ServiceModelAdmin
from apps.core.forms import ReferenceMultipleChoiceField
from apps.inventory import services
from apps.inventory.choices import DatasetRole
from apps.inventory.models import (
    BusinessUnit,
    Dataset,
    Deployment,
    ModelDependency,
    ModelVersion,
    RegisteredModel,
    RiskAssessment,
)


@admin.register(BusinessUnit)
class BusinessUnitAdmin(ServiceModelAdmin):
    list_display = ("name", "code")
    search_fields = ("name", "code")

    def service_create(self, request, obj, data):
        return services.business_unit_create(actor=request.user, **data)

    def service_update(self, request, obj, data):
        return services.business_unit_update(
            actor=request.user,
            unit=obj,
            code=data.get("code", obj.code),
            name=data.get("name", obj.name),
        )


# Shown, never edited here: the governed fields and the record's own dates.
READ_ONLY_MODEL_FIELDS = (*services.MODEL_GOVERNED_FIELDS, "created_by", "created_at", "updated_at")


@admin.register(RegisteredModel)
class RegisteredModelAdmin(ServiceModelAdmin):
    list_display = (
        "name",
        "slug",
        "business_unit",
        "risk_tier",
        "eu_ai_act_class",
        "status",
        "owner",
        "next_review_date",
    )
    list_filter = ("status", "risk_tier", "eu_ai_act_class", "business_unit")
    search_fields = ("name", "slug", "purpose")
    list_select_related = ("business_unit", "owner")
    autocomplete_fields = ("owner", "business_owner", "validator", "developers")
    service_m2m_fields = ("developers",)
    fieldsets = (
        (None, {"fields": ("slug", "name", "description", "business_unit")}),
        (
            "Purpose and use",
            {"fields": ("purpose", "out_of_scope_uses", "intended_users", "downstream_consumers")},
        ),
        (
            "Accountability",
            {
                "fields": (
                    "owner",
                    "developers",
                    "business_owner",
                    "validator",
                    "human_oversight_contact",
                )
            },
        ),
        (
            "Technical",
            {"fields": ("origin", "vendor", "model_type", "algorithm", "inputs", "outputs")},
        ),
        (
            "Limitations and ethics",
            {
                "fields": (
                    "limitations",
                    "assumptions",
                    "ethical_considerations",
                    "explainability",
                )
            },
        ),
        (
            "Risk and lifecycle (changed through the governance workflow)",
            {"fields": ("next_review_date", *READ_ONLY_MODEL_FIELDS)},
        ),
    )

    def get_readonly_fields(self, request, obj=None):
        return ("slug", *READ_ONLY_MODEL_FIELDS) if obj else READ_ONLY_MODEL_FIELDS

    def service_create(self, request, obj, data):
        slug = data.pop("slug")
        developers = data.pop("developers", ())
        return services.registered_model_create(
            actor=request.user, slug=slug, developers=developers, **data
        )

    def service_update(self, request, obj, data):
        developers = data.pop("developers", None)
        return services.registered_model_update(
            actor=request.user, model=obj, developers=developers, **data
        )

    def service_delete(self, request, obj):
        services.registered_model_delete(actor=request.user, model=obj)


VERSION_GOVERNED_FIELDS = ("stage", "approved_at", "approved_by", "created_by", "created_at")
VERSION_FIELDS = (
    "model",
    "version",
    "description",
    "artifact_uri",
    "artifact_sha256",
    "code_commit",
    "hyperparameters",
    "evaluation_metrics",
)


def _dataset_search_widget() -> AutocompleteSelectMultiple:
    """Datasets are searched as one types (the admin's autocomplete over DatasetAdmin's search
    fields): a bank's catalogue has thousands, never all rendered into one select."""
    return AutocompleteSelectMultiple(ModelVersion._meta.get_field("datasets"), admin.site)


class ModelVersionForm(forms.ModelForm):
    """Adds the dataset lineage, which the service writes as typed edges."""

    training_datasets = ReferenceMultipleChoiceField(
        queryset=Dataset.objects.all(), required=False, widget=_dataset_search_widget()
    )
    evaluation_datasets = ReferenceMultipleChoiceField(
        queryset=Dataset.objects.all(), required=False, widget=_dataset_search_widget()
    )

    class Meta:
        model = ModelVersion
        fields = VERSION_FIELDS

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            links = self.instance.dataset_links.all()
            self.initial["training_datasets"] = [
                link.dataset_id for link in links if link.role == DatasetRole.TRAINED_ON
            ]
            self.initial["evaluation_datasets"] = [
                link.dataset_id for link in links if link.role == DatasetRole.EVALUATED_ON
            ]


@admin.register(ModelVersion)
class ModelVersionAdmin(ServiceModelAdmin):
    form = ModelVersionForm
    list_display = ("model", "version", "stage", "created_at", "approved_at")
    list_filter = ("stage",)
    search_fields = ("model__name", "model__slug", "version")
    list_select_related = ("model",)
    autocomplete_fields = ("model",)

    def get_fields(self, request, obj=None):
        if obj is not None and obj.is_locked:
            return (*VERSION_FIELDS, "lineage", *VERSION_GOVERNED_FIELDS)
        return (
            *VERSION_FIELDS,
            "training_datasets",
            "evaluation_datasets",
            *VERSION_GOVERNED_FIELDS,
        )

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return VERSION_GOVERNED_FIELDS
        if obj.is_locked:  # approved versions are immutable evidence
            return self.get_fields(request, obj)
        return ("model", "version", *VERSION_GOVERNED_FIELDS)

    @admin.display(description="datasets")
    def lineage(self, obj) -> str:
        return "; ".join(str(link) for link in obj.dataset_links.select_related("dataset")) or "—"

    def service_create(self, request, obj, data):
        return services.model_version_register(
            actor=request.user,
            model=data.pop("model"),
            version=data.pop("version"),
            training_datasets=data.pop("training_datasets", ()),
            evaluation_datasets=data.pop("evaluation_datasets", ()),
            **data,
        )

    def service_update(self, request, obj, data):
        return services.model_version_update(
            actor=request.user,
            version=obj,
            training_datasets=data.pop("training_datasets", None),
            evaluation_datasets=data.pop("evaluation_datasets", None),
            **data,
        )


@admin.register(Dataset)
class DatasetAdmin(ServiceModelAdmin):
    list_display = ("name", "slug", "version", "owner", "contains_personal_data")
    list_filter = ("contains_personal_data",)
    search_fields = ("name", "slug", "uri")
    list_select_related = ("owner",)
    autocomplete_fields = ("owner",)
    readonly_fields = ("created_by", "created_at", "updated_at")

    def get_readonly_fields(self, request, obj=None):
        return ("slug", *self.readonly_fields) if obj else self.readonly_fields

    def service_create(self, request, obj, data):
        return services.dataset_create(actor=request.user, slug=data.pop("slug"), **data)

    def service_update(self, request, obj, data):
        return services.dataset_update(actor=request.user, dataset=obj, **data)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # datasets are lineage evidence; there is no delete service


@admin.register(Deployment)
class DeploymentAdmin(ServiceModelAdmin):
    list_display = ("version", "environment", "status", "endpoint", "deployed_at")
    list_filter = ("environment", "status")
    list_select_related = ("version", "version__model")
    autocomplete_fields = ("version",)
    fields = ("version", "environment", "endpoint", "consumers", "deployed_at", "status")
    readonly_fields = ("status",)

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # recorded once; a new deployment supersedes it

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def service_create(self, request, obj, data: dict[str, Any]):
        return services.deployment_create(actor=request.user, **data)


@admin.register(ModelDependency)
class ModelDependencyAdmin(ServiceModelAdmin):
    list_display = ("upstream", "downstream", "kind", "description")
    list_select_related = ("upstream", "downstream")
    autocomplete_fields = ("upstream", "downstream")
    fields = ("upstream", "downstream", "description")

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def service_create(self, request, obj, data):
        return services.model_dependency_create(actor=request.user, **data)

    def service_delete(self, request, obj) -> None:
        services.model_dependency_delete(actor=request.user, dependency=obj)


@admin.register(RiskAssessment)
class RiskAssessmentAdmin(ReadOnlyModelAdmin):
    """Decisions are made by validators in the app; the admin only shows them."""

    list_display = ("model", "assessed_at", "suggested_tier", "status", "decided_tier")
    list_filter = ("status", "suggested_tier", "decided_tier")
    list_select_related = ("model",)
    search_fields = ("model__name", "model__slug")
