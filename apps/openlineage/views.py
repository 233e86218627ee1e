"""Browser pages of the OpenLineage intake (administrators): the jobs pipelines reported,
mapping one to a model, and the naming rules; and the public JSON Schemas of mlgov's facets."""

from __future__ import annotations

import json

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST, require_safe

from apps.core.errors import ApplicationError
from apps.core.forms import add_application_error
from apps.core.views import paginate, render_page, require_perm, role_required
from apps.inventory import selectors as inventory_selectors
from apps.openlineage import selectors, services
from apps.openlineage.forms import JobMapForm, NamingRuleForm
from apps.openlineage.models import LineageJob, NamingRule
from apps.reports.formats import openlineage_spec as spec


@role_required
def job_list(request):
    """Jobs that sent events, those waiting for a model first."""
    require_perm(request, "openlineage.view_lineagejob")
    unmapped = request.GET.get("unmapped") == "1"
    q = request.GET.get("q", "").strip()[:200].replace("\x00", "")
    page = paginate(request, selectors.lineage_jobs(unmapped_only=unmapped, q=q))
    context = {
        "page_obj": page,
        "unmapped": unmapped,
        "q": q,
        "unmapped_total": selectors.unmapped_job_count(),
        "intake_url": request.build_absolute_uri(reverse("api:openlineage-intake")),
    }
    return render_page(request, "openlineage/job_list.html", context)


@role_required
def job_detail(request, pk: int):
    """One job: its latest events and what became of them; POST maps it to a model, which
    applies its waiting events."""
    require_perm(request, "openlineage.view_lineagejob")
    try:
        job = selectors.lineage_job_get(pk=pk)
    except LineageJob.DoesNotExist as exc:
        raise Http404("No such job.") from exc
    models = inventory_selectors.model_list_rows(user=request.user)
    form = JobMapForm(request.POST or None, models=models)
    if request.method == "POST":
        require_perm(request, "openlineage.map_lineagejob")
        if form.is_valid():
            try:
                applied = services.lineage_job_map(
                    actor=request.user, job=job, model=form.cleaned_data["model"]
                )
            except ApplicationError as exc:
                add_application_error(form, exc)
            else:
                messages.success(
                    request,
                    f"{job} maps to {form.cleaned_data['model'].slug}; "
                    f"{applied} stored event(s) applied.",
                )
                return redirect("openlineage:job_detail", pk=job.pk)
    context = {"job": job, "events": selectors.lineage_job_events(job=job), "form": form}
    return render_page(request, "openlineage/job_detail.html", context)


@role_required
def rule_list(request):
    """The naming rules; POST adds one (mapping the unmapped jobs it matches)."""
    require_perm(request, "openlineage.view_namingrule")
    models = inventory_selectors.model_list_rows(user=request.user)
    form = NamingRuleForm(request.POST or None, models=models)
    if request.method == "POST":
        require_perm(request, "openlineage.add_namingrule")
        if form.is_valid():
            try:
                rule, mapped = services.naming_rule_create(actor=request.user, **form.cleaned_data)
            except ApplicationError as exc:
                add_application_error(form, exc)
            else:
                messages.success(request, f"Rule {rule} added; it mapped {mapped} waiting job(s).")
                return redirect("openlineage:rule_list")
    context = {"rules": selectors.naming_rules(), "form": form}
    return render_page(request, "openlineage/rule_list.html", context)


@role_required
@require_POST
def rule_delete(request, pk: int):
    require_perm(request, "openlineage.delete_namingrule")
    rule = NamingRule.objects.filter(pk=pk).select_related("model").first()
    if rule is None:
        raise Http404("No such rule.")
    label = str(rule)
    services.naming_rule_delete(actor=request.user, rule=rule)
    messages.success(request, f"Rule {label} removed; jobs it mapped keep their model.")
    return redirect("openlineage:rule_list")


@require_safe
def facet_schema(request, name: str):
    """The JSON Schema of one of mlgov's OpenLineage facets, where its ``_schemaURL`` points.
    Public, like the spec's own facet schemas: whoever reads an exported event may check it."""
    if name not in spec.FACETS:
        raise Http404("No such facet.")
    document = spec.facet_schema_document(name, getattr(settings, "MLGOV_BASE_URL", ""))
    response = HttpResponse(
        json.dumps(document, indent=2, sort_keys=True), content_type="application/schema+json"
    )
    response["Cache-Control"] = "public, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    return response
