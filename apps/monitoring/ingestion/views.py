"""Browser pages of ingestion: the batch list, the upload form, a batch's page and its live
progress (an HTMX partial polled every second until the batch is final). Thin: selectors,
rules and services decide."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.views.decorators.http import require_POST

from apps.core.errors import ApplicationError
from apps.core.forms import add_application_error
from apps.core.job_messages import announce_job
from apps.core.views import render_page, require_perm, role_required
from apps.inventory import selectors as inventory_selectors
from apps.monitoring.choices import BatchStatus, IngestionSource
from apps.monitoring.ingestion import selectors, services
from apps.monitoring.ingestion.forms import UploadForm
from apps.monitoring.ingestion.parse import CANONICAL_COLUMNS

VIEW = "monitoring.view_ingestionbatch"
PUSH = "monitoring.ingest_metrics"
RETRY = "monitoring.retry_ingestionbatch"


@role_required
def batch_list(request):
    require_perm(request, VIEW)
    qs = selectors.batch_list(user=request.user).order_by("-created_at", "-pk")
    status = request.GET.get("status", "")
    if status in BatchStatus.values:
        qs = qs.filter(status=status)
    # Keyset pages: a late page costs what the first does (no OFFSET, no COUNT).
    page = selectors.keyset_page(
        qs, after=request.GET.get("after", ""), before=request.GET.get("before", "")
    )
    context = {
        "keyset": page,
        "batches": page.rows,
        "status": status,
        "statuses": BatchStatus.choices,
        "can_upload": request.user.has_perm(PUSH),
    }
    return render_page(request, "monitoring/ingestion/batch_list.html", context)


@role_required
def batch_create(request):
    require_perm(request, PUSH)
    # The models the user sees; the push rule is asked of the one typed only, never of every
    # model in the inventory (10,000 rule checks a page at a bank's size).
    models = inventory_selectors.model_list(user=request.user)

    def may_push(model) -> bool:
        return request.user.has_perm(PUSH, model)

    initial = {}
    if request.GET.get("model"):
        chosen = models.filter(slug=request.GET["model"]).first()
        if chosen is not None and may_push(chosen):
            initial["model"] = chosen
    form = UploadForm(
        request.POST or None,
        request.FILES or None,
        models=models,
        may_push=may_push,
        initial=initial,
    )
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            batch, created = services.ingestion_batch_create(
                user=request.user,
                source=IngestionSource.UPLOAD,
                # The upload as Django spooled it (to disk when large): never read whole.
                data=upload,
                file_name=upload.name,
                scope_model=form.cleaned_data["model"],
                accept_partial=form.cleaned_data["accept_partial"],
            )
        except (ApplicationError, PermissionDenied) as exc:
            if isinstance(exc, PermissionDenied):
                exc = ApplicationError(str(exc))
            add_application_error(form, exc)
        else:
            if not request.user.has_perm(VIEW, batch):
                messages.info(request, "This content was already sent; nothing is loaded twice.")
                return redirect("monitoring:batch_list")
            if created:
                announce_job(request, batch, what=f"Batch {batch.pk}")
            else:
                messages.info(
                    request, "This file was sent already; here is its batch (nothing loaded twice)."
                )
            return redirect(batch)
    context = {
        "form": form,
        "columns": CANONICAL_COLUMNS,
        "example_url": static("monitoring/metrics-example.csv"),
        "template_url": static("monitoring/metrics-template.csv"),
        "max_future_minutes": settings.MLGOV_INGEST_MAX_FUTURE_MINUTES,
    }
    return render(request, "monitoring/ingestion/batch_form.html", context)


def _detail_context(request, pk: int) -> dict:
    batch = selectors.batch_get(user=request.user, pk=pk)
    require_perm(request, VIEW, batch)
    can_retry = request.user.has_perm(RETRY, batch) and selectors.batch_retryable(batch)
    return {"batch": batch, "row_errors": batch.row_errors, "can_retry": can_retry}


@role_required
def batch_detail(request, pk: int):
    return render(request, "monitoring/ingestion/batch_detail.html", _detail_context(request, pk))


@role_required
def batch_progress(request, pk: int):
    """The status block of a batch page; it keeps polling itself until the batch is final."""
    return render(request, "monitoring/ingestion/_batch_status.html", _detail_context(request, pk))


@role_required
@require_POST
def batch_retry(request, pk: int):
    """Send a failed or stalled batch again (whoever sent it, or an administrator)."""
    batch = selectors.batch_get(user=request.user, pk=pk)
    require_perm(request, RETRY, batch)
    try:
        batch = services.ingestion_batch_retry(user=request.user, batch=batch)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        announce_job(request, batch, what=f"Batch {batch.pk}")
    return redirect(batch)
