"""Inventory figures for the dashboard, restricted to the models the user may see.

All counts come from one aggregate query over ``model_list(user=...)``, and the list of
upcoming reviews from one more, whatever the size of the inventory.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, IntegerField, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from apps.incidents import selectors as incident_selectors
from apps.incidents.choices import Severity
from apps.inventory import selectors as inventory_selectors
from apps.inventory.choices import EUAIActClass, LifecycleStatus, RiskTier
from apps.inventory.health import TONES, HealthState
from apps.inventory.health_facts import counts_from, health_count_aggregates
from apps.inventory.models import RegisteredModel
from apps.monitoring.evaluation.selectors import IN_BREACH
from apps.monitoring.models import ThresholdState

SOON_DAYS = 30
LATER_DAYS = 90
UPCOMING_LIMIT = 10


@dataclass(frozen=True)
class Figure:
    """One count with its filter value (for a link to the filtered inventory list)."""

    key: str
    label: str
    count: int

    @property
    def tone(self) -> str:
        """For a health state: ``ok``, ``warn`` or ``danger``."""
        return TONES.get(self.key, "")


@dataclass(frozen=True)
class InventoryFigures:
    total: int
    by_tier: list[Figure]
    by_status: list[Figure]
    by_eu_class: list[Figure]
    overdue: int
    due_soon: int
    due_later: int
    in_breach: int
    today: dt.date
    upcoming: list[RegisteredModel]
    by_health: list[Figure]

    @property
    def soon_until(self) -> dt.date:
        return self.today + dt.timedelta(days=SOON_DAYS)

    @property
    def later_until(self) -> dt.date:
        return self.today + dt.timedelta(days=LATER_DAYS)


def _breaching_states():
    """Threshold states in breach, of active thresholds (there are few: they drive the
    queries below, never the whole inventory)."""
    return ThresholdState.objects.filter(threshold__status="active", state__in=IN_BREACH)


def _breach_count(state: str):
    per_model = (
        ThresholdState.objects.filter(
            threshold__model=OuterRef("pk"), threshold__status="active", state=state
        )
        .order_by()
        .values("threshold__model")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(per_model, output_field=IntegerField()), 0)


def models_in_breach(*, user, limit: int) -> list[RegisteredModel]:
    """The ``limit`` worst visible models with an active threshold in warning or critical,
    with ``critical_count`` and ``warning_count`` (threshold-version pairs): read from the
    breaching states, so the plan reads the models in breach, not every model."""
    breaching = _breaching_states().order_by().values("threshold__model_id")
    return list(
        inventory_selectors.model_list(user=user)
        .select_related(None)
        .filter(pk__in=breaching)
        .annotate(critical_count=_breach_count("critical"), warning_count=_breach_count("warning"))
        .order_by("-critical_count", "-warning_count", "name")[:limit]
    )


def inventory_figures(*, user, today: dt.date | None = None) -> InventoryFigures:
    """Counts by risk tier, lifecycle status, EU AI Act class and health, and reviews falling
    due.

    Retired models have no reviews, so they are left out of the review figures.
    """
    today = today or timezone.localdate()
    soon, later = today + dt.timedelta(days=SOON_DAYS), today + dt.timedelta(days=LATER_DAYS)
    active = ~Q(status=LifecycleStatus.RETIRED)
    aggregates = {"total": Count("pk")}
    for tier in RiskTier:
        aggregates[f"tier_{tier.value}"] = Count("pk", filter=Q(risk_tier=tier.value))
    aggregates["tier_none"] = Count("pk", filter=Q(risk_tier__isnull=True))
    for status in LifecycleStatus:
        aggregates[f"status_{status.value}"] = Count("pk", filter=Q(status=status.value))
    for eu_class in EUAIActClass:
        aggregates[f"eu_{eu_class.value}"] = Count("pk", filter=Q(eu_ai_act_class=eu_class.value))
    aggregates["overdue"] = Count("pk", filter=active & Q(next_review_date__lt=today))
    aggregates["due_soon"] = Count(
        "pk", filter=active & Q(next_review_date__gte=today, next_review_date__lte=soon)
    )
    aggregates["due_later"] = Count(
        "pk", filter=active & Q(next_review_date__gte=today, next_review_date__lte=later)
    )
    # An IN over the few breaching states (hashed once), not a subquery per model.
    breaching = _breaching_states().order_by().values("threshold__model_id")
    aggregates["in_breach"] = Count("pk", filter=Q(pk__in=breaching))
    # Each model in its worst state (apps/inventory/health.py), as the inventory filters them.
    aggregates.update(health_count_aggregates(today, prefix="health_"))
    visible = inventory_selectors.model_list(user=user)
    row = visible.order_by().aggregate(**aggregates)
    upcoming = list(
        visible.filter(active, next_review_date__lte=later)
        .select_related(None)
        .select_related("owner", "business_unit")
        .order_by("next_review_date", "name")[:UPCOMING_LIMIT]
    )
    return InventoryFigures(
        total=row["total"],
        by_tier=[Figure(str(t.value), t.label, row[f"tier_{t.value}"]) for t in RiskTier]
        + [Figure("", "Not yet assessed", row["tier_none"])],
        by_status=[Figure(s.value, s.label, row[f"status_{s.value}"]) for s in LifecycleStatus],
        by_eu_class=[Figure(c.value, c.label, row[f"eu_{c.value}"]) for c in EUAIActClass],
        overdue=row["overdue"],
        due_soon=row["due_soon"],
        due_later=row["due_later"],
        in_breach=row["in_breach"],
        today=today,
        upcoming=upcoming,
        by_health=[
            Figure(s, HealthState(s).label, n)
            for s, n in counts_from(row, row["total"], prefix="health_").items()
        ],
    )


# --- monitoring and incidents -------------------------------------------------------------

BREACH_LIMIT = 10
DEADLINE_LIMIT = 10


@dataclass(frozen=True)
class MonitoringFigures:
    """Models in breach, active incidents by severity and serious-incident deadlines."""

    in_breach: list[RegisteredModel]
    open_by_severity: list[Figure]
    open_incidents: int
    deadlines: list


def monitoring_figures(*, user) -> MonitoringFigures:
    """Three queries whatever the number of models, thresholds or incidents (the number
    of models in breach is counted with the inventory figures)."""
    by_severity = incident_selectors.open_by_severity(user=user)
    figures = [Figure(s.value, s.label, by_severity[s.value] or 0) for s in Severity]
    return MonitoringFigures(
        in_breach=models_in_breach(user=user, limit=BREACH_LIMIT),
        open_by_severity=figures,
        open_incidents=sum(f.count for f in figures),
        deadlines=incident_selectors.serious_deadlines(user=user, limit=DEADLINE_LIMIT),
    )
