"""Browser pages of periodic reviews and findings. Thin: rules permission, selector, service.

Reviews and findings of a model the user cannot see answer 404; visible ones the user may
not change answer 403. Attestation and risk acceptance are approval requests.
"""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_POST

from apps.core.errors import ApplicationError
from apps.core.forms import add_application_error
from apps.core.tabs import render_tab
from apps.core.views import paginate, render_page, require_perm, role_required
from apps.inventory import selectors as inventory_selectors
from apps.inventory.choices import LifecycleStatus
from apps.reviews import schedule, selectors, services
from apps.reviews.choices import FindingStatus, ReviewStatus
from apps.reviews.forms import (
    FindingCreateForm,
    FindingForm,
    FindingStatusForm,
    ReviewCreateForm,
    ReviewForm,
    RiskAcceptanceForm,
    SubmitForm,
)


def _error(request, exc: ApplicationError) -> None:
    messages.error(request, exc.message)


# --- reviews -----------------------------------------------------------------------------


def _due_list_url(until) -> str:
    """The inventory filtered to the models in service whose review falls by ``until``."""
    active = [s.value for s in LifecycleStatus if s != LifecycleStatus.RETIRED]
    query = {"review_due_before": until.isoformat(), "status": active}
    return (
        reverse("inventory:model_list")
        + "?"
        + urlencode({**query, "ordering": "next_review_date"}, doseq=True)
    )


@role_required
def review_list(request):
    require_perm(request, "reviews.view_review")
    status = request.GET.get("status", "")
    qs = selectors.review_list(user=request.user)
    if status in ReviewStatus.values:
        qs = qs.filter(status=status)
    page = paginate(request, qs)
    due = selectors.reviews_due(user=request.user)
    context = {
        "page_obj": page,
        "reviews": page.object_list,
        "status": status,
        "statuses": ReviewStatus.choices,
        "due": due,
        "due_list_url": _due_list_url(due["until"]),
        "cadences": selectors.cadence_table(),
        "can_create": request.user.has_perm("reviews.add_review"),
    }
    return render_page(request, "reviews/review_list.html", context)


@role_required
def review_create(request):
    require_perm(request, "reviews.add_review")
    models = inventory_selectors.model_list(user=request.user).exclude(status="retired")
    initial = {}
    if request.GET.get("model"):
        initial["model"] = models.filter(slug=request.GET["model"]).first()
    form = ReviewCreateForm(request.POST or None, models=models, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if v not in (None, "")}
        try:
            review = services.review_create(actor=request.user, **data)
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            messages.success(request, "The review has been opened.")
            return redirect(review)
    return render(request, "reviews/review_form.html", {"form": form, "review": None})


def _review_context(request, review) -> dict:
    user = request.user
    requests = selectors.attestation_requests(reviews=[review])
    can_change = user.has_perm("reviews.change_review", review) and review.is_editable
    return {
        "review": review,
        "attestation": requests.get(str(review.pk)),
        "findings": selectors.finding_list(user=user).filter(review=review),
        "can_change": can_change,
        "can_submit": can_change and user.has_perm("reviews.submit_review", review),
        "can_add_finding": user.has_perm("reviews.add_finding", review.model),
        "submit_form": SubmitForm(),
    }


@role_required
def review_detail(request, pk: int):
    review = selectors.review_get(user=request.user, pk=pk)
    return render(request, "reviews/review_detail.html", _review_context(request, review))


@role_required
def review_edit(request, pk: int):
    review = selectors.review_get(user=request.user, pk=pk)
    require_perm(request, "reviews.change_review", review)
    form = ReviewForm(request.POST or None, instance=review)
    if request.method == "POST" and form.is_valid():
        data = {name: form.cleaned_data[name] for name in form.changed_data}
        try:
            services.review_update(actor=request.user, review=review, **data)
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            messages.success(request, "The review has been saved.")
            return redirect(review)
    review.refresh_from_db()
    return render(request, "reviews/review_form.html", {"form": form, "review": review})


@role_required
@require_POST
def review_submit(request, pk: int):
    review = selectors.review_get(user=request.user, pk=pk)
    require_perm(request, "reviews.submit_review", review)
    form = SubmitForm(request.POST)
    form.is_valid()
    try:
        services.review_submit(
            actor=request.user,
            review=review,
            justification=form.cleaned_data.get("justification", ""),
        )
    except ApplicationError as exc:
        _error(request, exc)
    else:
        messages.success(request, "The review has been submitted for attestation.")
    return redirect(review)


@role_required
def model_reviews(request, slug: str):
    """The Reviews tab of the model page: schedule, reviews, findings."""
    model = inventory_selectors.model_get(user=request.user, slug=slug)
    require_perm(request, "reviews.view_review", model)
    today = timezone.localdate()
    findings = list(selectors.finding_list(user=request.user, model=model))
    context = {
        "reviews": selectors.review_list(user=request.user, model=model)[:50],
        "findings": findings,
        "overdue_findings": [
            f
            for f in findings
            if schedule.finding_is_overdue(
                f.due_date, today, is_open=f.status == FindingStatus.OPEN
            )
        ],
        "review_state": schedule.review_state(model.next_review_date, today),
        "cadence_months": services.cadence_months(model.risk_tier),
        "today": today,
        "can_add_review": request.user.has_perm("reviews.add_review", model),
        "can_add_finding": request.user.has_perm("reviews.add_finding", model),
    }
    return render_tab(request, model, tab="reviews", context=context)


# --- findings ----------------------------------------------------------------------------


@role_required
def finding_list(request):
    require_perm(request, "reviews.view_finding")
    overdue = request.GET.get("overdue") == "1"
    status = request.GET.get("status", "")
    qs = selectors.finding_list(user=request.user, overdue_only=overdue)
    if status in FindingStatus.values:
        qs = qs.filter(status=status)
    page = paginate(request, qs)
    context = {
        "page_obj": page,
        "findings": page.object_list,
        "overdue": overdue,
        "status": status,
        "statuses": FindingStatus.choices,
        "today": timezone.localdate(),
        "can_create": request.user.has_perm("reviews.add_finding"),
    }
    return render_page(request, "reviews/finding_list.html", context)


@role_required
def finding_create(request):
    require_perm(request, "reviews.add_finding")
    models = inventory_selectors.model_list(user=request.user)
    review = None
    if request.GET.get("review"):
        review = selectors.review_list(user=request.user).filter(pk=request.GET["review"]).first()
    initial = {"model": review.model if review else None}
    if request.GET.get("model") and not review:
        initial["model"] = models.filter(slug=request.GET["model"]).first()
    form = FindingCreateForm(request.POST or None, models=models, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            finding = services.finding_create(
                actor=request.user,
                model=form.cleaned_data["model"],
                review=review,
                **form.service_data(),
            )
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            messages.success(request, "The finding has been recorded.")
            return redirect(finding)
    return render(
        request, "reviews/finding_form.html", {"form": form, "finding": None, "review": review}
    )


def _finding_context(request, finding, **forms) -> dict:
    user = request.user
    can_change = user.has_perm("reviews.change_finding", finding)
    can_accept = user.has_perm(
        "reviews.request_risk_acceptance_finding", finding
    ) and finding.status in (FindingStatus.OPEN, FindingStatus.REMEDIATED)
    return {
        "finding": finding,
        "today": timezone.localdate(),
        "is_overdue": schedule.finding_is_overdue(
            finding.due_date, timezone.localdate(), is_open=finding.status == FindingStatus.OPEN
        ),
        "can_change": can_change,
        "status_form": forms.get("status_form") or (FindingStatusForm() if can_change else None),
        "pending_acceptance": selectors.pending_risk_acceptance(finding=finding),
        "acceptance_form": forms.get("acceptance_form")
        or (RiskAcceptanceForm() if can_accept else None),
    }


@role_required
def finding_detail(request, pk: int):
    finding = selectors.finding_get(user=request.user, pk=pk)
    return render(request, "reviews/finding_detail.html", _finding_context(request, finding))


@role_required
def finding_edit(request, pk: int):
    finding = selectors.finding_get(user=request.user, pk=pk)
    require_perm(request, "reviews.change_finding", finding)
    owner_only = not request.user.has_perm("reviews.add_finding", finding.model)
    form = FindingForm(request.POST or None, instance=finding, owner_only=owner_only)
    if request.method == "POST" and form.is_valid():
        try:
            services.finding_update(actor=request.user, finding=finding, **form.service_data())
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            messages.success(request, "The finding has been saved.")
            return redirect(finding)
    finding.refresh_from_db()
    return render(
        request,
        "reviews/finding_form.html",
        {"form": form, "finding": finding, "review": finding.review},
    )


@role_required
@require_POST
def finding_status(request, pk: int):
    finding = selectors.finding_get(user=request.user, pk=pk)
    require_perm(request, "reviews.change_finding", finding)
    form = FindingStatusForm(request.POST)
    if form.is_valid():
        try:
            services.finding_set_status(actor=request.user, finding=finding, **form.cleaned_data)
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            messages.success(request, "The finding's status has been changed.")
            return redirect(finding)
    context = _finding_context(request, finding, status_form=form)
    return render(request, "reviews/finding_detail.html", context, status=400)


@role_required
@require_POST
def finding_risk_acceptance(request, pk: int):
    finding = selectors.finding_get(user=request.user, pk=pk)
    require_perm(request, "reviews.request_risk_acceptance_finding", finding)
    form = RiskAcceptanceForm(request.POST)
    if form.is_valid():
        try:
            services.finding_request_risk_acceptance(
                actor=request.user, finding=finding, **form.cleaned_data
            )
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            messages.success(request, "Risk acceptance has been requested.")
            return redirect(finding)
    context = _finding_context(request, finding, acceptance_form=form)
    return render(request, "reviews/finding_detail.html", context, status=400)
