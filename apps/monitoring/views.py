"""Browser pages of thresholds: the Thresholds tab of a model and one threshold's page.

Thin: objects come from selectors restricted to the user (404 outside their reach), rules
decide who may act (403), services decide and audit; their refusals are shown on the form.
"""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from apps.approvals.registry import handler_for
from apps.core.errors import ApplicationError
from apps.core.forms import add_application_error
from apps.core.views import require_perm, role_required
from apps.inventory import selectors as inventory_selectors

# The model page and its tab bar belong to the inventory; this tab plugs into it.
from apps.inventory.views import _tab_page as model_tab_page
from apps.monitoring import selectors, services
from apps.monitoring.approvals import describe_evaluation
from apps.monitoring.choices import ThresholdStatus
from apps.monitoring.forms import SubmitForm, ThresholdForm

ADD = "monitoring.add_threshold"
CHANGE = "monitoring.change_threshold"
SUBMIT = "monitoring.submit_threshold"
REVISE = "monitoring.revise_threshold"

# Order of the tab: what applies now first, then what is being worked on, then history.
STATUS_ORDER = (
    ThresholdStatus.ACTIVE,
    ThresholdStatus.EXPIRED,
    ThresholdStatus.PENDING_SIGNOFF,
    ThresholdStatus.DRAFT,
    ThresholdStatus.SUPERSEDED,
    ThresholdStatus.REJECTED,
)


@role_required
def threshold_list(request, slug: str):
    model = inventory_selectors.model_get(user=request.user, slug=slug)
    thresholds = list(selectors.threshold_list(user=request.user, model=model))
    rank = {status: i for i, status in enumerate(STATUS_ORDER)}
    thresholds.sort(key=lambda t: (rank[t.status], t.metric.name, t.segment, -t.pk))
    for t in thresholds:
        t.evaluation_text = describe_evaluation(t)
    context = {
        "thresholds": thresholds,
        "expired_count": sum(t.status == ThresholdStatus.EXPIRED for t in thresholds),
        "can_add_threshold": request.user.has_perm(ADD, model),
        "tab_template": "monitoring/tab_thresholds.html",
    }
    return model_tab_page(request, model, "thresholds", context)


def _get(request, slug: str, pk: int):
    model = inventory_selectors.model_get(user=request.user, slug=slug)
    return model, selectors.threshold_get(user=request.user, pk=pk, model=model)


@role_required
def threshold_create(request, slug: str):
    model = inventory_selectors.model_get(user=request.user, slug=slug)
    require_perm(request, ADD, model)
    form = ThresholdForm(request.POST or None, model=model)
    if request.method == "POST" and form.is_valid():
        try:
            threshold = services.threshold_create(
                actor=request.user, model=model, **form.service_data()
            )
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            messages.success(request, "Threshold drafted. Submit it for sign-off to apply it.")
            return redirect(threshold)
    return render(
        request, "monitoring/threshold_form.html", {"form": form, "model": model, "threshold": None}
    )


@role_required
def threshold_detail(request, slug: str, pk: int):
    model, threshold = _get(request, slug, pk)
    user = request.user
    may_change = user.has_perm(CHANGE, threshold)
    context = {
        "model": model,
        "threshold": threshold,
        "evaluation_text": describe_evaluation(threshold),
        "comparison": handler_for("threshold_signoff").compare(threshold),
        "revisions": threshold.revisions.select_related("created_by").order_by("-created_at"),
        "can_edit": may_change and threshold.is_editable,
        "can_submit": user.has_perm(SUBMIT, threshold) and _submittable(threshold),
        "can_revise": user.has_perm(REVISE, threshold)
        and threshold.status in (ThresholdStatus.ACTIVE, ThresholdStatus.EXPIRED),
        "submit_form": SubmitForm(),
    }
    return render(request, "monitoring/threshold_detail.html", context)


def _submittable(threshold) -> bool:
    """A draft, or one whose sign-off request was withdrawn or went stale."""
    if threshold.status == ThresholdStatus.DRAFT:
        return True
    request = threshold.signoff_request
    return threshold.status == ThresholdStatus.PENDING_SIGNOFF and not (
        request is not None and request.is_open
    )


@role_required
def threshold_edit(request, slug: str, pk: int):
    model, threshold = _get(request, slug, pk)
    require_perm(request, CHANGE, threshold)
    if not threshold.is_editable:
        messages.error(
            request,
            f"This threshold is {threshold.get_status_display().lower()}; only drafts are "
            "edited. Revise an active threshold to propose new bounds.",
        )
        return redirect(threshold)
    form = ThresholdForm(request.POST or None, instance=threshold, model=model)
    if request.method == "POST" and form.is_valid():
        try:
            was_pending = threshold.status == ThresholdStatus.PENDING_SIGNOFF
            threshold = services.threshold_update(
                actor=request.user, threshold=threshold, **form.service_data()
            )
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            note = (
                " It is a draft again: the sign-off request went stale; submit it again."
                if was_pending and threshold.status == ThresholdStatus.DRAFT
                else ""
            )
            messages.success(request, "Threshold updated." + note)
            return redirect(threshold)
    return render(
        request,
        "monitoring/threshold_form.html",
        {"form": form, "model": model, "threshold": threshold},
    )


@role_required
@require_POST
def threshold_submit(request, slug: str, pk: int):
    _, threshold = _get(request, slug, pk)
    require_perm(request, SUBMIT, threshold)
    form = SubmitForm(request.POST)
    form.is_valid()
    try:
        services.threshold_submit(
            actor=request.user,
            threshold=threshold,
            justification=form.cleaned_data.get("justification", ""),
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Sign-off requested; the approvers see it in their inbox.")
    return redirect(threshold)


@role_required
@require_POST
def threshold_revise(request, slug: str, pk: int):
    _, threshold = _get(request, slug, pk)
    require_perm(request, REVISE, threshold)
    try:
        revision = services.threshold_revise(actor=request.user, threshold=threshold)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect(threshold)
    messages.success(
        request,
        f"Revision drafted. Threshold #{threshold.pk} keeps applying until this one is signed.",
    )
    return redirect("monitoring:threshold_edit", slug=slug, pk=revision.pk)
