"""The audit log in the browser: a filtered, paginated list and chain verification.

Only roles that read the audit log get here (audit.view_auditevent / verify_auditevent).
"""

from __future__ import annotations

from django.shortcuts import render
from django.views.decorators.http import require_POST

from apps.audit import selectors
from apps.audit.forms import AuditEventFilterForm
from apps.audit.models import AuditEvent
from apps.core.views import paginate, render_page, require_perm, role_required


@role_required
def event_list(request):
    require_perm(request, "audit.view_auditevent")
    object_types = list(
        AuditEvent.objects.order_by("object_type").values_list("object_type", flat=True).distinct()
    )
    form = AuditEventFilterForm(request.GET or None, object_types=object_types)
    events = form.filter(selectors.audit_event_list())
    page = paginate(request, events)
    context = {
        "form": form,
        "page_obj": page,
        "events": selectors.describe_events(page.object_list),
        "head": selectors.chain_head(),
        "can_verify": request.user.has_perm("audit.verify_auditevent"),
    }
    return render_page(
        request, "audit/event_list.html", context, partial="audit/_event_results.html"
    )


@role_required
@require_POST
def verify(request):
    """Recompute the whole chain now and show whether it is intact."""
    require_perm(request, "audit.verify_auditevent")
    verification = selectors.audit_chain_verify_with_checkpoints()
    return render(
        request,
        "audit/verify.html",
        {"result": verification.chain, "checkpoint": verification.checkpoint},
    )
