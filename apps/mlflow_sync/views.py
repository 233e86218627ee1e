"""Browser pages of the MLflow registry sync. Thin: rules permission, selector, service.

A connection's page shows its settings and its syncs, with a button that starts one; each
sync has a page with its counts and refusals. The discovered list shows the models waiting
for an owner, and the claim page lets a model owner take one. A synced version's page has an
MLflow section (``version_section_context``).
"""

from __future__ import annotations

from urllib.parse import quote

from django.contrib import messages
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from apps.core.errors import ApplicationError
from apps.core.forms import add_application_error
from apps.core.views import paginate, render_page, require_perm, role_required
from apps.mlflow_sync import selectors, services
from apps.mlflow_sync.choices import RunTrigger
from apps.mlflow_sync.forms import ClaimForm


@role_required
def connection_list(request):
    require_perm(request, "mlflow_sync.view_mlflowconnection")
    page = paginate(request, selectors.connection_list(user=request.user))
    return render_page(
        request,
        "mlflow_sync/connection_list.html",
        {"page_obj": page, "connections": page.object_list},
    )


@role_required
def connection_detail(request, pk: int):
    require_perm(request, "mlflow_sync.view_mlflowconnection")
    connection = selectors.connection_get(user=request.user, pk=pk)
    page = paginate(request, selectors.run_list(connection=connection))
    return render_page(
        request,
        "mlflow_sync/connection_detail.html",
        {
            "connection": connection,
            "page_obj": page,
            "runs": page.object_list,
            "can_sync": request.user.has_perm("mlflow_sync.sync_mlflowconnection", connection),
        },
    )


@role_required
@require_POST
def connection_sync(request, pk: int):
    require_perm(request, "mlflow_sync.sync_mlflowconnection")
    connection = selectors.connection_get(user=request.user, pk=pk)
    require_perm(request, "mlflow_sync.sync_mlflowconnection", connection)
    try:
        run, created = services.sync_request(
            actor=request.user, connection=connection, trigger=RunTrigger.MANUAL
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect(connection)
    if created:
        messages.success(request, f"Sync #{run.pk} queued.")
    else:
        messages.info(request, f"Sync #{run.pk} is already {run.get_status_display().lower()}.")
    return redirect(run)


@role_required
def run_detail(request, pk: int):
    require_perm(request, "mlflow_sync.view_syncrun")
    run = selectors.run_get(user=request.user, pk=pk)
    return render_page(request, "mlflow_sync/run_detail.html", {"run": run})


@role_required
def discovered_list(request):
    require_perm(request, "mlflow_sync.view_discovered")
    page = paginate(request, selectors.discovered_list(user=request.user))
    return render_page(
        request,
        "mlflow_sync/discovered_list.html",
        {
            "page_obj": page,
            "models": page.object_list,
            "can_claim": request.user.has_perm("inventory.claim_registeredmodel"),
        },
    )


@role_required
def model_claim(request, slug: str):
    model = selectors.discovered_get(user=request.user, slug=slug)
    require_perm(request, "inventory.claim_registeredmodel", model)
    form = ClaimForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.discovered_model_claim(actor=request.user, model=model, **form.cleaned_data)
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            messages.success(request, f"You now own {model.name}.")
            return redirect(model)
    return render_page(request, "mlflow_sync/claim.html", {"model": model, "form": form})


def _schema_rows(schema) -> list[dict[str, str]] | None:
    """MLflow's column or tensor specs as rows of name and type; None when the schema is not
    a list of specs (shown as JSON then)."""
    if not isinstance(schema, list) or not all(isinstance(item, dict) for item in schema):
        return None
    rows = []
    for item in schema:
        kind = str(item.get("type") or "")
        spec = item.get("tensor-spec")
        if isinstance(spec, dict):
            kind = f"tensor {spec.get('dtype', '')} {spec.get('shape', '')}".strip()
        if item.get("required") is False:
            kind += " (optional)"
        rows.append({"name": str(item.get("name") or "—"), "type": kind})
    return rows


def version_section_context(request, version) -> dict | None:
    """The MLflow section of a version page (apps.inventory.version_sections): what the sync
    recorded from MLflow about the version, for versions that came from a sync."""
    if version.model.discovered_at is None:
        return None  # a sync records versions of the models it discovered only: no query
    link = selectors.version_link_for(version=version)
    if link is None:
        return None
    model_link = link.model_link
    base = model_link.connection.tracking_url.rstrip("/")
    name, number = quote(model_link.mlflow_name, safe=""), quote(link.mlflow_version, safe="")
    signature = link.signature if isinstance(link.signature, dict) else {}
    parts = []
    for part, label in (("inputs", "Inputs"), ("outputs", "Outputs"), ("params", "Parameters")):
        value = signature.get(part)
        if value:
            parts.append({"label": label, "rows": _schema_rows(value), "raw": value})
    return {
        "link": link,
        "mlflow_name": model_link.mlflow_name,
        "mlflow_url": f"{base}/#/models/{name}/versions/{number}",
        "tags": sorted(link.tags.items()) if isinstance(link.tags, dict) else [],
        "signature": parts,
    }
