"""Browser pages of reports: the Reports page (list and request form), a report's page with
its live status (an HTMX partial polled until the job is final), downloads, a model's Reports
tab, and the model card read in the browser. Thin: selectors, rules and services decide."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.views.decorators.http import require_POST

from apps.core import clock
from apps.core.errors import ApplicationError
from apps.core.forms import add_application_error
from apps.core.job_messages import announce_job
from apps.core.security import apply_document_policy
from apps.core.tabs import render_tab
from apps.core.views import paginate, render_page, require_perm, role_required
from apps.inventory import selectors as inventory_selectors
from apps.reports import generators, selectors, services
from apps.reports.api.views import file_response, manifest_response
from apps.reports.choices import GENERATOR, ReportFormat, ReportKind, ReportStatus
from apps.reports.filters import ReportFilter
from apps.reports.forms import ReportRequestForm, end_of_day
from apps.reports.models import Report

VIEW = "reports.view_report"
ADD = "reports.add_report"
TAB = "reports.view_model_reports"
CARD = "reports.view_model_card"
RETRY = "reports.retry_report"


def _submit(request, form: ReportRequestForm) -> Report | None:
    """Ask for the report the form describes; refusals are shown on the form."""
    if not form.is_valid():
        return None
    try:
        report = services.report_request(user=request.user, **form.service_kwargs())
    except (ApplicationError, PermissionDenied) as exc:
        if isinstance(exc, PermissionDenied):
            exc = ApplicationError(str(exc))
        add_application_error(form, exc)
        return None
    announce_job(
        request,
        report,
        what=f"Report {report.pk} ({report.get_kind_display()} as {report.get_format_display()})",
    )
    return report


def _pending(reports) -> bool:
    return any(not r.is_final for r in reports)


@role_required
def report_list(request):
    """Every report the user may see (auditors: all), filterable, with the request form."""
    require_perm(request, VIEW)
    user = request.user
    form = None
    if user.has_perm(ADD):
        models = inventory_selectors.model_list(user=user).select_related(None).only("slug", "name")
        initial = {"report": request.GET.get("report")}
        form = ReportRequestForm(request.POST or None, user=user, models=models, initial=initial)
    if request.method == "POST":
        require_perm(request, ADD)
        report = _submit(request, form)
        if report is not None:
            return redirect(report)
    filterset = ReportFilter(request.GET or None, queryset=selectors.report_list(user=user))
    page = paginate(request, filterset.qs)
    context = {
        "form": form,
        "filter": filterset,
        "page_obj": page,
        "reports": page.object_list,
        "pending": _pending(page.object_list),
        "statuses": ReportStatus.choices,
        "kinds": ReportKind.choices,
    }
    status = 400 if form is not None and form.is_bound and form.errors else 200
    return render_page(
        request,
        "reports/report_list.html",
        context,
        partial="reports/_report_table.html",
        status=status,
    )


def _detail_context(request, pk: int) -> dict:
    require_perm(request, VIEW)
    report = selectors.report_get(user=request.user, pk=pk)
    require_perm(request, VIEW, report)
    can_retry = request.user.has_perm(RETRY, report) and selectors.report_retryable(report)
    return {"report": report, "can_retry": can_retry}


@role_required
def report_detail(request, pk: int):
    return render(request, "reports/report_detail.html", _detail_context(request, pk))


@role_required
def report_progress(request, pk: int):
    """The status block of a report page; it polls itself until the report is final."""
    return render(request, "reports/_report_status.html", _detail_context(request, pk))


@role_required
@require_POST
def report_retry(request, pk: int):
    """Ask again for a failed report (a new report), or send a stalled one to a worker again."""
    require_perm(request, VIEW)
    report = selectors.report_get(user=request.user, pk=pk)
    require_perm(request, RETRY, report)
    try:
        retried = services.report_retry(user=request.user, report=report)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect(report)
    announce_job(request, retried, what=f"Report {retried.pk}")
    return redirect(retried)


@role_required
def report_download(request, pk: int):
    """The stored file, the same bytes every time; refused if it changed since generation."""
    report = _detail_context(request, pk)["report"]
    if not report.is_done:
        message = f"Report {report.pk} is {report.get_status_display().lower()}; it has no file."
        context = {"report": report, "message": message}
        return render(request, "reports/file_error.html", context, status=409)
    try:
        data = services.report_file_bytes(report=report)
    except services.ReportFileError as exc:
        context = {"report": report, "message": str(exc)}
        return render(request, "reports/file_error.html", context, status=500)
    return file_response(report, data)


def _signed_file(request, pk: int, *, signature: bool):
    report = _detail_context(request, pk)["report"]
    try:
        return manifest_response(report, signature=signature)
    except services.ReportFileError as exc:
        context = {"report": report, "message": str(exc)}
        return render(request, "reports/file_error.html", context, status=409)


@role_required
def report_manifest(request, pk: int):
    """The report's signed manifest, the exact bytes its signature covers."""
    return _signed_file(request, pk, signature=False)


@role_required
def report_signature(request, pk: int):
    """The signature of the report's manifest (algorithm, key id, value)."""
    return _signed_file(request, pk, signature=True)


@role_required
def model_reports(request, slug: str):
    """A model's Reports tab: ask for its card, lineage, audit extract or evidence pack (as
    the rules allow), read the card in the browser, and list the model's reports."""
    model = inventory_selectors.model_get(user=request.user, slug=slug)
    require_perm(request, TAB, model)
    user = request.user
    form = None
    if user.has_perm(ADD):
        # The card's "Make a PDF" link names the report and as-of to ask for.
        initial = {"report": request.GET.get("report"), "as_of": request.GET.get("as_of")}
        form = ReportRequestForm(request.POST or None, user=user, model=model, initial=initial)
        if not form.fields["report"].choices:
            form = None
    if request.method == "POST":
        if form is None:
            raise PermissionDenied("You may not generate reports of this model.")
        report = _submit(request, form)
        if report is not None:
            return redirect(report)
    page = paginate(request, selectors.report_list(user=user, model=model))
    context = {
        "form": form,
        "page_obj": page,
        "reports": page.object_list,
        "pending": _pending(page.object_list),
        "can_read_card": user.has_perm(CARD, model),
        "today": timezone.localdate().isoformat(),
    }
    status = 400 if form is not None and form.is_bound and form.errors else 200
    return render_tab(request, model, tab="reports", context=context, status=status)


def _as_of_param(value: str, model) -> dt.datetime | None:
    """``?as_of=``: a date (the end of that day in the user's zone) or an ISO 8601 time."""
    value = (value or "").strip()
    if not value:
        return None
    day = parse_date(value) if len(value) == 10 else None
    moment = end_of_day(day) if day else generators.parse_iso(value)
    if moment is None:
        raise ApplicationError(f"as_of: {value!r} is not a date (YYYY-MM-DD) or ISO 8601 time.")
    if moment > clock.now():
        raise ApplicationError("as_of: the as-of time is in the future.")
    if moment < model.created_at:
        raise ApplicationError(f"as_of: {model.slug} did not exist yet at {value}.")
    return moment


@role_required
def model_card(request, slug: str):
    """The model card as HTML in the browser (printable), now or ``?as_of=``."""
    from apps.reports.cards import card_html

    model = inventory_selectors.model_get(user=request.user, slug=slug)
    require_perm(request, CARD, model)
    try:
        as_of = _as_of_param(request.GET.get("as_of", ""), model)
    except ApplicationError as exc:
        return HttpResponse(exc.message, status=400, content_type="text/plain; charset=utf-8")
    snapshot = selectors.card_preview_snapshot(model=model, as_of=as_of)
    meta = generators.card_meta(
        snapshot,
        {
            "generated_at": generators.iso_utc(clock.now()),
            "generated_by": generators.person_of(request.user),
            "generator": GENERATOR,
            "report_id": None,
        },
    )
    html = card_html(snapshot, meta, for_pdf=False, screen=_card_screen(request, model, as_of))
    # Standalone, with its stylesheets inline: served under a policy that allows exactly those
    # stylesheets (by hash) and mlgov's own script files (the Print button), no inline script,
    # in a sandbox of its own, rather than weakening the site's policy.
    response = HttpResponse(html, content_type="text/html; charset=utf-8")
    return apply_document_policy(response, html, scripts=["'self'"])


def _card_screen(request, model, as_of: dt.datetime | None) -> dict:
    """The bar above the card in the browser: the newest PDF of this card the user may
    download (same as-of), where to make one, and the Print button's script."""
    user = request.user
    make_pdf_url = None
    if selectors.may_generate(user, ReportKind.MODEL_CARD, model):
        query = {"report": f"{ReportKind.MODEL_CARD}:{ReportFormat.PDF}"}
        if as_of is not None:
            query["as_of"] = timezone.localtime(as_of).date().isoformat()
        tab = reverse("reports:model_reports", kwargs={"slug": model.slug})
        make_pdf_url = f"{tab}?{urlencode(query)}#request-heading"
    return {
        "pdf": selectors.card_pdf_latest(user=user, model=model, as_of=as_of),
        "make_pdf_url": make_pdf_url,
        "print_script": static("js/print-button.js"),
    }
