"""Dataset pages: list, register, view and edit, and the choosers' type-ahead."""

from __future__ import annotations

from django.contrib import messages
from django.db.models import Count
from django.http import JsonResponse
from django.shortcuts import redirect, render

from apps.core.errors import ApplicationError
from apps.core.forms import add_application_error
from apps.core.views import paginate, render_page, require_perm, role_required
from apps.inventory import selectors, services
from apps.inventory.filters import DatasetFilter
from apps.inventory.forms import DatasetForm


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


@role_required
def dataset_suggest(request):
    """JSON for the dataset choosers' type-ahead: ``{"results": [{"value", "label"}, …]}``, at
    most 20 datasets matching ``q``."""
    require_perm(request, "inventory.view_dataset")
    rows = selectors.dataset_suggestions(user=request.user, term=request.GET.get("q", ""))
    return JsonResponse({"results": rows})
