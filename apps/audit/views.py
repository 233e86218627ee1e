"""The audit log in the browser: a filtered list read a page at a time by sequence (no count,
no offset), and chain verification run in the background with its progress and results.

Only roles that read the audit log get here (audit.view_auditevent / verify_auditevent).
"""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import redirect
from django.views.decorators.http import require_http_methods

from apps.audit import selectors, services
from apps.audit.forms import AuditEventFilterForm
from apps.audit.models import ChainVerification
from apps.core.views import is_partial, render_page, require_perm, role_required

PAGE_SIZE = 25


@role_required
def event_list(request):
    require_perm(request, "audit.view_auditevent")
    form = AuditEventFilterForm(request.GET or None, object_types=selectors.event_object_types())
    events = form.filter(selectors.audit_event_list())
    before, after = request.GET.get("before"), request.GET.get("after")
    jump = form.jump_to()
    if jump is not None and not before and not after:
        before = selectors.sequence_before(jump) or 0
    page = selectors.event_page(events, before=before, after=after, size=PAGE_SIZE)
    context = {
        "form": form,
        "page": page,
        "events": selectors.describe_events(page.events),
        "scope": form.chosen_scope(),
        "head": selectors.chain_head(),
        "can_verify": request.user.has_perm("audit.verify_auditevent"),
    }
    if context["can_verify"] and not is_partial(request):
        context["last_run"] = selectors.verification_latest()
    return render_page(
        request, "audit/event_list.html", context, partial="audit/_event_results.html"
    )


@role_required
@require_http_methods(["GET", "POST"])
def verify(request):
    """GET: the latest verifications. POST: start one (``full=1`` from the first event), or
    land on the one already waiting or running."""
    require_perm(request, "audit.verify_auditevent")
    if request.method == "POST":
        run, _ = services.verification_request(
            user=request.user,
            full=request.POST.get("full") in ("1", "true", "on"),
            trigger=ChainVerification.Trigger.WEB,
        )
        return redirect("audit:verification", pk=run.pk)
    runs = selectors.verification_list(limit=10)
    return render_page(request, "audit/verify.html", {"runs": runs, "run": None})


@role_required
def verification(request, pk: int):
    """One verification: its progress while it runs (the page polls itself), then its result."""
    require_perm(request, "audit.verify_auditevent")
    run = selectors.verification_get(pk)
    if run is None:
        raise Http404("No such verification.")
    return render_page(
        request,
        "audit/verification.html",
        {"run": run},
        partial="audit/_verification.html",
    )
