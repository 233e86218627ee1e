"""Browser pages of the inventory. Thin: check a rules permission, call selectors/services.

Objects come from selectors restricted to the user, so anything outside their reach is a
404; a visible object the user may not change is a 403. Services make every decision and
record the audit trail; their refusals are shown on the form.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator

from django.contrib import messages
from django.db.models import Count
from django.forms import CheckboxSelectMultiple
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.formats import date_format
from django.views.decorators.http import require_POST

from apps.approvals.choices import RequestStatus
from apps.audit import selectors as audit_selectors
from apps.core.errors import ApplicationError
from apps.core.forms import add_application_error
from apps.core.tabs import render_tab
from apps.core.views import paginate, render_page, require_perm, role_required
from apps.inventory import selectors, services
from apps.inventory.choices import RiskAssessmentStatus
from apps.inventory.filters import DatasetFilter, RegisteredModelFilter
from apps.inventory.forms import (
    DatasetForm,
    DependencyForm,
    DeploymentForm,
    ModelVersionForm,
    RegisteredModelForm,
    RiskDecisionForm,
    RiskQuestionnaireForm,
    TransitionForm,
    VersionStageForm,
)
from apps.inventory.models import ModelVersion, RegisteredModel

# --- the model list ----------------------------------------------------------------------

CHECKBOX_FILTERS = ("risk_tier", "status", "eu_ai_act_class")


def _model_filterset(request) -> RegisteredModelFilter:
    """The list filters over the models the user sees; owner choices are limited likewise."""
    filterset = selectors.model_filterset(user=request.user, data=request.GET)
    filterset.form.fields["owner"].empty_label = "Any owner"
    filterset.form.fields["ordering"].empty_label = "Name (default)"
    # A few options each: checkboxes are easier to use by keyboard than multi-selects.
    for name in CHECKBOX_FILTERS:
        field = filterset.form.fields[name]
        field.widget = CheckboxSelectMultiple(attrs={"class": "checkbox-list"})
        field.widget.choices = field.choices
    return filterset


@role_required
def model_list(request):
    require_perm(request, "inventory.view_registeredmodel")
    filterset = _model_filterset(request)
    page = paginate(request, filterset.qs)
    context = {
        "filterset": filterset,
        "form": filterset.form,
        "page_obj": page,
        "models": page.object_list,
        "can_create": request.user.has_perm("inventory.add_registeredmodel"),
    }
    return render_page(
        request, "inventory/model_list.html", context, partial="inventory/_model_results.html"
    )


FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

CSV_COLUMNS = (
    ("slug", lambda m: m.slug),
    ("name", lambda m: m.name),
    ("business_unit", lambda m: m.business_unit.name),
    ("owner", lambda m: m.owner.username),
    ("business_owner", lambda m: m.business_owner.username),
    ("validator", lambda m: m.validator.username if m.validator else ""),
    ("risk_tier", lambda m: m.risk_tier or ""),
    ("eu_ai_act_class", lambda m: m.eu_ai_act_class),
    ("eu_annex_iii_point", lambda m: m.eu_annex_iii_point),
    ("status", lambda m: m.status),
    ("origin", lambda m: m.origin),
    ("vendor", lambda m: m.vendor),
    ("model_type", lambda m: m.model_type),
    ("algorithm", lambda m: m.algorithm),
    ("purpose", lambda m: m.purpose),
    ("next_review_date", lambda m: m.next_review_date.isoformat() if m.next_review_date else ""),
    ("updated_at", lambda m: m.updated_at.isoformat()),
)


def csv_safe(value) -> str:
    """Neutralise spreadsheet formulas: a cell that starts like one gets a leading apostrophe."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


class _Echo:
    """A write-only file whose write returns the line, so csv.writer can feed a stream."""

    def write(self, value: str) -> str:
        return value


def _csv_rows(queryset) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow([name for name, _ in CSV_COLUMNS])
    for model in queryset.iterator(chunk_size=500):
        yield writer.writerow([csv_safe(getter(model)) for _, getter in CSV_COLUMNS])


@role_required
def model_export_csv(request):
    """The filtered inventory as CSV, streamed so a large register uses constant memory."""
    require_perm(request, "inventory.view_registeredmodel")
    filterset = _model_filterset(request)
    response = StreamingHttpResponse(_csv_rows(filterset.qs), content_type="text/csv")
    stamp = timezone.localdate().strftime("%Y%m%d")
    response["Content-Disposition"] = f'attachment; filename="mlgov-inventory-{stamp}.csv"'
    return response


# --- create and edit ---------------------------------------------------------------------


@role_required
def model_create(request):
    require_perm(request, "inventory.add_registeredmodel")
    form = RegisteredModelForm(request.POST or None, initial={"owner": request.user.pk})
    if request.method == "POST" and form.is_valid():
        try:
            model = services.registered_model_create(
                actor=request.user, slug=form.cleaned_data["slug"], **form.service_data()
            )
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            messages.success(request, f"{model.name} has been registered.")
            return redirect(model)
    return render(request, "inventory/model_form.html", {"form": form, "model": None})


@role_required
def model_edit(request, slug: str):
    model = selectors.model_get(user=request.user, slug=slug)
    require_perm(request, "inventory.change_registeredmodel", model)
    form = RegisteredModelForm(request.POST or None, instance=model)
    if request.method == "POST" and form.is_valid():
        try:
            services.registered_model_update(actor=request.user, model=model, **form.service_data())
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            messages.success(request, f"{model.name} has been updated.")
            return redirect(model)
    # The form may have written invalid values onto the instance; show the stored name.
    return render(
        request,
        "inventory/model_form.html",
        {"form": form, "model": model, "title_name": form.initial.get("name", model.name)},
    )


# --- the model page and its tabs ---------------------------------------------------------


def _display(model, name: str) -> str:
    """A field's value as text in the user's zone; empty values stay empty."""
    field = model._meta.get_field(name)
    if field.choices:
        value = getattr(model, f"get_{name}_display")()
        return "" if value in ("—", None) else str(value)
    value = getattr(model, name)
    if value is None or value == "":
        return ""
    if hasattr(value, "tzinfo") and hasattr(value, "hour"):
        return date_format(timezone.localtime(value), "j M Y, H:i")
    if hasattr(value, "isoformat"):
        return date_format(value, "j M Y")
    return str(value)


OVERVIEW_GROUPS = (
    (
        "Purpose and use",
        ("description", "purpose", "out_of_scope_uses", "intended_users", "downstream_consumers"),
    ),
    (
        "Accountability",
        (
            "business_unit",
            "owner",
            "developers",
            "business_owner",
            "validator",
            "human_oversight_contact",
            "origin",
            "vendor",
        ),
    ),
    (
        "Technical",
        (
            "model_type",
            "algorithm",
            "inputs",
            "outputs",
            "assumptions",
            "limitations",
            "explainability",
        ),
    ),
    (
        "Risk and regulation",
        (
            "risk_tier",
            "risk_tier_rationale",
            "risk_assessed_by",
            "risk_assessed_at",
            "eu_ai_act_class",
            "eu_annex_iii_point",
            "ethical_considerations",
        ),
    ),
    (
        "Lifecycle",
        (
            "status",
            "status_changed_at",
            "validation_started_at",
            "approved_at",
            "deployed_at",
            "retired_at",
            "retirement_reason",
            "next_review_date",
            "created_by",
            "created_at",
            "updated_at",
        ),
    ),
)


def _overview_groups(model: RegisteredModel) -> list[tuple[str, list[tuple[str, str]]]]:
    groups = []
    for title, names in OVERVIEW_GROUPS:
        rows = []
        for name in names:
            label = model._meta.get_field(name).verbose_name
            if name == "developers":
                value = ", ".join(str(u) for u in model.developers.all())
            else:
                value = _display(model, name)
            rows.append((label[:1].upper() + label[1:], value))
        groups.append((title, rows))
    return groups


def _overview_context(request, model, transition_form=None) -> dict:
    can_transition = request.user.has_perm("inventory.transition_registeredmodel", model)
    if can_transition and transition_form is None:
        transition_form = TransitionForm(model=model)
    return {
        "groups": _overview_groups(model),
        "can_transition": can_transition,
        "transition_form": transition_form,
    }


@role_required
def model_detail(request, slug: str):
    model = selectors.model_get(user=request.user, slug=slug)
    return render_tab(request, model, tab="overview", context=_overview_context(request, model))


@role_required
@require_POST
def model_transition(request, slug: str):
    model = selectors.model_get(user=request.user, slug=slug)
    require_perm(request, "inventory.transition_registeredmodel", model)
    form = TransitionForm(request.POST, model=model)
    if form.is_valid():
        try:
            model = services.registered_model_transition(
                actor=request.user,
                model=model,
                target=form.cleaned_data["target"],
                reason=form.cleaned_data["reason"],
            )
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            messages.success(request, f"{model.name} is now in {model.get_status_display()}.")
            return redirect(model)
    return render_tab(
        request, model, tab="overview", context=_overview_context(request, model, form), status=200
    )


@role_required
def model_versions(request, slug: str):
    model = selectors.model_get(user=request.user, slug=slug)
    versions = selectors.version_list(user=request.user, model=model).order_by("-created_at")
    context = {
        "versions": versions,
        "can_add_version": request.user.has_perm("inventory.add_modelversion", model),
    }
    return render_tab(request, model, tab="versions", context=context)


@role_required
def model_lineage(request, slug: str):
    model = selectors.model_get(user=request.user, slug=slug)
    user = request.user
    graph = selectors.model_lineage(user=user, model=model)
    versions = list(selectors.version_list(user=user, model=model).order_by("-created_at"))
    context = {
        "graph": graph,
        "center_id": f"model:{model.slug}",
        "dataset_links": [(v, link) for v in versions for link in v.dataset_links.all()],
        "deployments": selectors.deployment_list(user=user, model=model).select_related(
            "created_by"
        ),
        "dependencies": selectors.dependency_list(user=user, model=model),
        "can_add_deployment": user.has_perm("inventory.add_deployment", model),
        "can_add_dependency": user.has_perm("inventory.add_modeldependency", model),
    }
    return render_tab(request, model, tab="lineage", context=context)


def _risk_context(request, model, *, questionnaire=None, decision_forms=None) -> dict:
    user = request.user
    assessments = list(selectors.risk_assessment_list(model=model))
    can_assess = user.has_perm("inventory.assess_risk_registeredmodel", model)
    can_decide = user.has_perm("inventory.decide_risk_registeredmodel", model)
    decision_forms = decision_forms or {}
    rows = []
    for assessment in assessments:
        form = None
        # A proposal whose request went stale or was withdrawn can be made again.
        reproposable = assessment.status == RiskAssessmentStatus.AWAITING_APPROVAL and (
            assessment.approval_request_status != "pending"
        )
        if can_decide and (assessment.status == RiskAssessmentStatus.PENDING or reproposable):
            form = decision_forms.get(assessment.pk) or RiskDecisionForm(
                initial={"tier": assessment.suggested_tier}, prefix=f"decide-{assessment.pk}"
            )
        status = assessment.approval_request_status
        assessment.approval_request_label = RequestStatus(status).label if status else ""
        rows.append((assessment, form))
    if can_assess and questionnaire is None:
        questionnaire = RiskQuestionnaireForm(
            initial={
                "eu_ai_act_class": model.eu_ai_act_class,
                "eu_annex_iii_point": model.eu_annex_iii_point,
            }
        )
    return {
        "assessments": rows,
        "can_assess": can_assess,
        "can_decide": can_decide,
        "questionnaire": questionnaire,
    }


@role_required
def model_risk(request, slug: str):
    model = selectors.model_get(user=request.user, slug=slug)
    return render_tab(request, model, tab="risk", context=_risk_context(request, model))


@role_required
@require_POST
def risk_assess(request, slug: str):
    model = selectors.model_get(user=request.user, slug=slug)
    require_perm(request, "inventory.assess_risk_registeredmodel", model)
    form = RiskQuestionnaireForm(request.POST)
    if form.is_valid():
        try:
            assessment = services.risk_assessment_submit(
                actor=request.user,
                model=model,
                answers=form.answers(),
                eu_ai_act_class=form.cleaned_data["eu_ai_act_class"],
                eu_annex_iii_point=form.cleaned_data["eu_annex_iii_point"],
            )
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            messages.success(
                request,
                f"Assessment recorded: suggested Tier {assessment.suggested_tier}. "
                "A validator confirms or overrides it.",
            )
            return redirect("inventory:model_risk", slug=model.slug)
    return render_tab(
        request, model, tab="risk", context=_risk_context(request, model, questionnaire=form)
    )


@role_required
@require_POST
def risk_decide(request, slug: str, pk: int):
    model = selectors.model_get(user=request.user, slug=slug)
    require_perm(request, "inventory.decide_risk_registeredmodel", model)
    assessment = selectors.risk_assessment_list(model=model).filter(pk=pk).first()
    if assessment is None:
        raise Http404("No such assessment.")
    form = RiskDecisionForm(request.POST, prefix=f"decide-{pk}")
    if form.is_valid():
        try:
            services.risk_assessment_decide(
                actor=request.user,
                assessment=assessment,
                tier=form.cleaned_data["tier"],
                reason=form.cleaned_data["reason"],
            )
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            messages.success(
                request,
                f"Tier {form.cleaned_data['tier']} proposed for {model}; another validator "
                "approves it before it applies.",
            )
            return redirect("inventory:model_risk", slug=model.slug)
    return render_tab(
        request, model, tab="risk", context=_risk_context(request, model, decision_forms={pk: form})
    )


@role_required
def model_history(request, slug: str):
    model = selectors.model_get(user=request.user, slug=slug)
    require_perm(request, "inventory.view_history_registeredmodel", model)
    page = paginate(request, audit_selectors.audit_event_list(model_pk=model.pk))
    context = {"page_obj": page, "events": audit_selectors.describe_events(page.object_list)}
    return render_tab(request, model, tab="history", context=context)


# --- versions ----------------------------------------------------------------------------


def _version_form(request, model, *, instance=None):
    return ModelVersionForm(
        request.POST or None,
        instance=instance or ModelVersion(model=model),
        datasets=selectors.dataset_list(user=request.user),
    )


@role_required
def version_create(request, slug: str):
    model = selectors.model_get(user=request.user, slug=slug)
    require_perm(request, "inventory.add_modelversion", model)
    form = _version_form(request, model)
    if request.method == "POST" and form.is_valid():
        try:
            version = services.model_version_register(
                actor=request.user,
                model=model,
                version=form.cleaned_data["version"],
                **form.service_data(),
            )
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            messages.success(request, f"Version {version.version} has been registered.")
            return redirect("inventory:version_detail", slug=model.slug, version=version.version)
    return render(
        request, "inventory/version_form.html", {"form": form, "model": model, "version": None}
    )


@role_required
def version_detail(request, slug: str, version: str):
    model = selectors.model_get(user=request.user, slug=slug)
    obj = selectors.version_get(user=request.user, model=model, version=version)
    return render(request, "inventory/version_detail.html", _version_context(request, model, obj))


def _version_context(request, model, obj, stage_form=None) -> dict:
    user = request.user
    may_stage = user.has_perm("inventory.stage_modelversion", obj)
    return {
        "model": model,
        "version": obj,
        "links": list(obj.dataset_links.all()),
        "deployments": selectors.deployment_list(user=user, model=model).filter(version=obj),
        "can_edit": not obj.is_locked and user.has_perm("inventory.change_modelversion", obj),
        "stage_form": stage_form or (VersionStageForm(version=obj) if may_stage else None),
    }


@role_required
def version_edit(request, slug: str, version: str):
    model = selectors.model_get(user=request.user, slug=slug)
    obj = selectors.version_get(user=request.user, model=model, version=version)
    if obj.is_locked:
        messages.error(
            request,
            f"Version {obj.version} was approved and is immutable; register a new version instead.",
        )
        return redirect(obj)
    require_perm(request, "inventory.change_modelversion", obj)
    form = _version_form(request, model, instance=obj)
    if request.method == "POST" and form.is_valid():
        try:
            services.model_version_update(actor=request.user, version=obj, **form.service_data())
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            messages.success(request, f"Version {obj.version} has been updated.")
            return redirect("inventory:version_detail", slug=model.slug, version=obj.version)
    return render(
        request, "inventory/version_form.html", {"form": form, "model": model, "version": obj}
    )


@role_required
@require_POST
def version_stage(request, slug: str, version: str):
    model = selectors.model_get(user=request.user, slug=slug)
    obj = selectors.version_get(user=request.user, model=model, version=version)
    # May move this version at all; the move itself is checked by the service.
    require_perm(request, "inventory.stage_modelversion", obj)
    form = VersionStageForm(request.POST, version=obj)
    if form.is_valid():
        try:
            obj = services.model_version_set_stage(
                actor=request.user, version=obj, stage=form.cleaned_data["stage"]
            )
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            messages.success(request, f"Version {obj.version} is now {obj.get_stage_display()}.")
            return redirect("inventory:version_detail", slug=model.slug, version=obj.version)
    return render(
        request, "inventory/version_detail.html", _version_context(request, model, obj, form)
    )


# --- deployments and dependencies --------------------------------------------------------


@role_required
def deployment_create(request, slug: str):
    model = selectors.model_get(user=request.user, slug=slug)
    require_perm(request, "inventory.add_deployment", model)
    versions = selectors.version_list(user=request.user, model=model).order_by("-created_at")
    form = DeploymentForm(request.POST or None, versions=versions)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        try:
            services.deployment_create(actor=request.user, **data)
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            messages.success(request, f"Deployment of {data['version'].version} recorded.")
            return redirect("inventory:model_lineage", slug=model.slug)
    return render(request, "inventory/deployment_form.html", {"form": form, "model": model})


@role_required
def dependency_create(request, slug: str):
    model = selectors.model_get(user=request.user, slug=slug)
    require_perm(request, "inventory.add_modeldependency", model)
    candidates = selectors.model_list(user=request.user).exclude(pk=model.pk)
    form = DependencyForm(request.POST or None, models=candidates)
    if request.method == "POST" and form.is_valid():
        try:
            services.model_dependency_create(
                actor=request.user,
                upstream=form.cleaned_data["upstream"],
                downstream=model,
                description=form.cleaned_data["description"],
            )
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            messages.success(request, f"{form.cleaned_data['upstream']} now feeds {model}.")
            return redirect("inventory:model_lineage", slug=model.slug)
    return render(request, "inventory/dependency_form.html", {"form": form, "model": model})


# --- datasets ----------------------------------------------------------------------------


@role_required
def dataset_list(request):
    require_perm(request, "inventory.view_dataset")
    datasets = selectors.dataset_list(user=request.user).annotate(
        version_count=Count("version_links__version", distinct=True)
    )
    filterset = DatasetFilter(request.GET or None, queryset=datasets)
    page = paginate(request, filterset.qs)
    context = {
        "filterset": filterset,
        "form": filterset.form,
        "page_obj": page,
        "datasets": page.object_list,
        "can_create": request.user.has_perm("inventory.add_dataset"),
    }
    return render_page(
        request, "inventory/dataset_list.html", context, partial="inventory/_dataset_results.html"
    )


@role_required
def dataset_create(request):
    require_perm(request, "inventory.add_dataset")
    form = DatasetForm(request.POST or None, initial={"owner": request.user.pk})
    if request.method == "POST" and form.is_valid():
        try:
            dataset = services.dataset_create(
                actor=request.user, slug=form.cleaned_data["slug"], **form.service_data()
            )
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            messages.success(request, f"Dataset {dataset} has been registered.")
            return redirect(dataset)
    return render(request, "inventory/dataset_form.html", {"form": form, "dataset": None})


@role_required
def dataset_detail(request, slug: str):
    dataset = selectors.dataset_get(user=request.user, slug=slug)
    usage = selectors.dataset_usage(user=request.user, dataset=dataset)
    context = {
        "dataset": dataset,
        "usage": usage,
        "can_edit": request.user.has_perm("inventory.change_dataset", dataset),
    }
    return render(request, "inventory/dataset_detail.html", context)


@role_required
def dataset_edit(request, slug: str):
    dataset = selectors.dataset_get(user=request.user, slug=slug)
    require_perm(request, "inventory.change_dataset", dataset)
    form = DatasetForm(request.POST or None, instance=dataset)
    if request.method == "POST" and form.is_valid():
        try:
            dataset = services.dataset_update(
                actor=request.user, dataset=dataset, **form.service_data()
            )
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            messages.success(request, f"Dataset {dataset} has been updated.")
            return redirect(dataset)
    return render(request, "inventory/dataset_form.html", {"form": form, "dataset": dataset})
