"""The model's lineage tab and the pages that add to it: deployments and model-to-model
links."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render

from apps.core.errors import ApplicationError
from apps.core.forms import add_application_error
from apps.core.tabs import render_tab
from apps.core.views import require_perm, role_required
from apps.inventory import selectors, services
from apps.inventory.forms import DependencyForm, DeploymentForm


@role_required
def model_lineage(request, slug: str):
    model = selectors.model_get(user=request.user, slug=slug)
    user = request.user
    context = {
        **selectors.model_lineage_tab(user=user, model=model),
        "center_id": f"model:{model.slug}",
        "can_add_deployment": user.has_perm("inventory.add_deployment", model),
        "can_add_dependency": user.has_perm("inventory.add_modeldependency", model),
    }
    return render_tab(request, model, tab="lineage", context=context)


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
