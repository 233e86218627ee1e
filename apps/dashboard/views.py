"""The dashboard: inventory figures and charts for what the user may see."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from django.shortcuts import render
from django.urls import reverse

from apps.approvals.selectors import waiting_queryset
from apps.core.navigation import nav_counts
from apps.core.replica import reading_from_replica
from apps.core.views import role_required
from apps.dashboard.selectors import inventory_figures, monitoring_figures
from apps.inventory.choices import LifecycleStatus
from apps.inventory.filters import NOT_ASSESSED
from apps.monitoring.selectors import models_with_expired_thresholds
from apps.reviews.selectors import overdue_finding_count

TIER_COLOURS = {"1": "#a4262c", "2": "#b86e00", "3": "#2f6f3e", "": "#8a97a8"}
STATUS_COLOURS = {
    "development": "#6b7585",
    "validation": "#b86e00",
    "approved": "#1f4e79",
    "production": "#1e6b3a",
    "retired": "#a9b2bf",
}


SEVERITY_COLOURS = {"sev1": "#a4262c", "sev2": "#c2410c", "sev3": "#b86e00", "sev4": "#6b7585"}


def _incidents_url(severity: str) -> str:
    return (
        reverse("incidents:incident_list")
        + "?"
        + urlencode(
            {"severity": severity, "status": ["open", "investigating", "mitigated"]}, doseq=True
        )
    )


def _list_url(**params) -> str:
    return reverse("inventory:model_list") + ("?" + urlencode(params, doseq=True) if params else "")


def _review_url(until: dt.date) -> str:
    """Link to the models still in service whose review falls on or before ``until``."""
    active = [s.value for s in LifecycleStatus if s != LifecycleStatus.RETIRED]
    return _list_url(
        review_due_before=until.isoformat(), status=active, ordering="next_review_date"
    )


@role_required
@reading_from_replica()  # figures may be a moment old (README, "Scaling out")
def home(request):
    figures = inventory_figures(user=request.user)
    my_approvals = list(waiting_queryset(user=request.user)[:5])
    tier_bars = [
        (
            f.label,
            f.count,
            TIER_COLOURS[f.key],
            # "none" is the tier list's "Not assessed", shown (and removable) in its filters.
            _list_url(risk_tier=f.key or NOT_ASSESSED),
        )
        for f in figures.by_tier
    ]
    status_bars = [
        (f.label, f.count, STATUS_COLOURS[f.key], _list_url(status=f.key))
        for f in figures.by_status
    ]
    eu_links = [(f, _list_url(eu_ai_act_class=f.key)) for f in figures.by_eu_class]
    health_links = [(f, _list_url(health=f.key)) for f in figures.by_health]
    monitoring = monitoring_figures(user=request.user)
    severity_bars = [
        (f.label, f.count, SEVERITY_COLOURS[f.key], _incidents_url(f.key))
        for f in monitoring.open_by_severity
    ]
    context = {
        "figures": figures,
        "tier_bars": tier_bars,
        "status_bars": status_bars,
        "eu_links": eu_links,
        "health_links": health_links,
        "monitoring": monitoring,
        "severity_bars": severity_bars,
        "overdue_url": _review_url(figures.today - dt.timedelta(days=1)),
        "soon_url": _review_url(figures.soon_until),
        "later_url": _review_url(figures.later_until),
        "overdue_findings": overdue_finding_count(user=request.user, today=figures.today),
        # Expired thresholds no longer apply: monitoring is blind until they are re-signed.
        "expired_threshold_models": list(models_with_expired_thresholds(user=request.user)[:10]),
        # The oldest five; the count is the navigation badge's (read with the page's other
        # navigation counts, capped like them).
        "my_approvals": my_approvals,
        "approvals_waiting": nav_counts(request).get("approvals_waiting") or 0,
    }
    return render(request, "dashboard/home.html", context)
