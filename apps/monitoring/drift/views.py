"""Browser pages of drift: a model's runs with the upload form, and one run's results.

Thin: objects come from selectors restricted to the user (404 outside their reach), rules
decide who may upload (403), the service checks the files; its refusals show on the form.
"""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from apps.core.errors import ApplicationError
from apps.core.forms import add_application_error
from apps.core.job_messages import announce_job
from apps.core.views import paginate, render_page, require_perm, role_required
from apps.inventory import selectors as inventory_selectors
from apps.monitoring.drift import selectors, services
from apps.monitoring.drift.forms import DriftRunForm

RUN = "monitoring.run_drift"
VIEW = "monitoring.view_driftrun"
RETRY = "monitoring.retry_driftrun"


@role_required
def drift_list(request, slug: str):
    model = inventory_selectors.model_get(user=request.user, slug=slug)
    require_perm(request, VIEW, model)
    can_run = request.user.has_perm(RUN, model)
    form = None
    if can_run:
        form = DriftRunForm(request.POST or None, request.FILES or None, model=model)
    elif request.method == "POST":
        require_perm(request, RUN, model)
    if request.method == "POST" and form.is_valid():
        try:
            run = services.drift_run_create(user=request.user, **form.service_data())
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            announce_job(request, run, what=f"Drift run {run.pk}")
            return redirect(reverse("monitoring:drift_detail", args=[model.slug, run.pk]))
    page = paginate(request, selectors.drift_run_list(user=request.user, model=model))
    context = {"model": model, "page_obj": page, "runs": page.object_list, "form": form}
    status = 400 if form is not None and form.is_bound and form.errors else 200
    return render(request, "monitoring/drift/run_list.html", context, status=status)


def _run_context(request, slug: str, pk: int) -> dict:
    model = inventory_selectors.model_get(user=request.user, slug=slug)
    run = selectors.drift_run_get(user=request.user, pk=pk, model=model)
    require_perm(request, VIEW, run)
    can_retry = request.user.has_perm(RETRY, run) and selectors.drift_run_retryable(run)
    return {"model": model, "run": run, "can_retry": can_retry}


@role_required
def drift_detail(request, slug: str, pk: int):
    context = _run_context(request, slug, pk)
    return render_page(
        request,
        "monitoring/drift/run_detail.html",
        context,
        partial="monitoring/drift/_run_body.html",
    )


@role_required
def drift_progress(request, slug: str, pk: int):
    """The run's status and, once finished, its results (polled by HTMX while it runs)."""
    return render(request, "monitoring/drift/_run_body.html", _run_context(request, slug, pk))


@role_required
@require_POST
def drift_retry(request, slug: str, pk: int):
    """Compute a failed or stalled run again (whoever started it, or an administrator)."""
    model = inventory_selectors.model_get(user=request.user, slug=slug)
    run = selectors.drift_run_get(user=request.user, pk=pk, model=model)
    require_perm(request, RETRY, run)
    try:
        services.drift_run_retry(user=request.user, run=run)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        announce_job(request, run, what=f"Drift run {run.pk}")
    return redirect(reverse("monitoring:drift_detail", args=[model.slug, run.pk]))
