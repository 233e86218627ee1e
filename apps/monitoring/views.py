"""Browser pages of monitoring on a model: the Monitoring tab (charts, states, drift,
batches, and the panels other apps add, such as incidents), the Thresholds tab and one
threshold's page.

Thin: objects come from selectors restricted to the user (404 outside their reach), rules
decide who may act (403), services decide and audit; their refusals are shown on the form.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from apps.approvals.registry import handler_for
from apps.core import clock
from apps.core.errors import ApplicationError
from apps.core.forms import add_application_error
from apps.core.tabs import render_tab
from apps.core.views import require_perm, role_required
from apps.inventory import selectors as inventory_selectors
from apps.monitoring import charts, selectors, services
from apps.monitoring.approvals import describe_evaluation
from apps.monitoring.choices import ThresholdStatus
from apps.monitoring.drift import selectors as drift_selectors
from apps.monitoring.forms import SubmitForm, ThresholdForm
from apps.monitoring.panels import panels_context

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
    }
    return render_tab(request, model, tab="thresholds", context=context)


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


# --- the Monitoring tab ---------------------------------------------------------------------

#: Time ranges of the tab (days; None: since the first observation).
RANGES = {"7d": 7, "30d": 30, "90d": 90, "1y": 365, "all": None}
RANGE_LABELS = {"7d": "7 days", "30d": "30 days", "90d": "90 days", "1y": "1 year", "all": "All"}
DEFAULT_RANGE = "90d"


def _range_key(request) -> str:
    key = request.GET.get("range", DEFAULT_RANGE)
    return key if key in RANGES else DEFAULT_RANGE


def _fixed_range(key: str, now: datetime) -> tuple[datetime, datetime] | None:
    """The range ending now, or None for "all" (it follows the observations)."""
    days = RANGES[key]
    return None if days is None else (now - timedelta(days=days), now)


def _whole_range(first, last, now: datetime) -> tuple[datetime, datetime]:
    """Since the first observation (the default range when there is none)."""
    start = first if first is not None else now - timedelta(days=RANGES[DEFAULT_RANGE])
    # A day of margin each side, so the first and last points are not on the frame.
    return start - timedelta(days=1), max(now, last or now) + timedelta(seconds=1)


@role_required
def model_monitoring(request, slug: str):
    """The Monitoring tab: charts per metric with threshold bands and breaches, threshold
    states, the latest drift run, ingestion batches, and the panels other apps register
    (the open incidents of the model)."""
    model = inventory_selectors.model_get(user=request.user, slug=slug)
    require_perm(request, "monitoring.view_observation", model)
    user = request.user
    range_key = _range_key(request)
    now = clock.now()
    fixed = _fixed_range(range_key, now)
    asked = request.GET.get("segment", "")
    # The span, the segments, the versions and the metrics of the asked segment and of the
    # whole population (where an unknown segment falls back to): one query.
    overview = selectors.series_overview(
        model=model,
        segments=[asked, ""],
        start=fixed[0] if fixed else None,
        end=fixed[1] if fixed else None,
    )
    start, end = fixed or _whole_range(overview.first_at, overview.last_at, now)
    segments = overview.segments
    segment = asked if asked in segments else ""
    thresholds = selectors.threshold_states(model=model)
    for threshold in thresholds:
        for state in threshold.current_states:
            state.value_text = "" if state.value is None else charts.format_value(state.value)
    all_charts = selectors.metric_charts(
        model=model,
        start=start,
        end=end,
        segment=segment,
        thresholds=thresholds,
        overview=overview,
    )
    context = {
        # Sections other apps add (the model's open incidents), shown after the thresholds.
        **panels_context(user=user, model=model),
        "ranges": [(key, RANGE_LABELS[key]) for key in RANGES],
        "range_key": range_key,
        "range_start": start,
        "range_end": end,
        "segments": segments if segments != [""] else [],
        "segment": segment,
        # Drift metrics last (metric_charts sorts them so), folded by the template.
        "metric_charts": all_charts,
        "drift_count": sum(c["drift"] for c in all_charts),
        "thresholds": thresholds,
        "drift_run": drift_selectors.latest_drift_run(model=model),
        "batches": selectors.model_batch_list(user=user, model=model)[:BATCHES_SHOWN],
        "can_ingest": user.has_perm("monitoring.ingest_metrics", model),
    }
    return render_tab(request, model, tab="monitoring", context=context)


BATCHES_SHOWN = 10
