"""Reads of the incident register, restricted to the models the user sees."""

from __future__ import annotations

from django.db.models import (
    Case,
    CharField,
    Count,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Cast
from django.http import Http404

from apps.audit.models import AuditEvent
from apps.core import clock, roles
from apps.incidents import deadlines
from apps.incidents.choices import ACTIVE_STATUSES, Severity
from apps.incidents.models import Incident, IncidentEvent
from apps.inventory.choices import LifecycleStatus, VersionStage
from apps.inventory.models import ModelVersion, RegisteredModel
from apps.inventory.selectors import model_list, visible_through
from apps.monitoring.models import Breach


def incident_list(*, user, model: RegisteredModel | None = None) -> QuerySet[Incident]:
    qs = Incident.objects.filter(visible_through(user))
    if model is not None:
        qs = qs.filter(model=model)
    return qs.select_related("model", "assignee", "threshold__metric")


def open_incidents(*, user, model: RegisteredModel) -> QuerySet[Incident]:
    """The model's active incidents, most severe first, then the latest detected (the
    Monitoring tab lists them)."""
    return (
        incident_list(user=user, model=model)
        .filter(status__in=ACTIVE_STATUSES)
        .order_by("severity", "-detected_at")
    )


def model_incidents(*, user, model: RegisteredModel) -> QuerySet[Incident]:
    """Every incident of the model for its Incidents tab: those still being worked on first,
    then the latest detected."""
    still_open = Case(
        When(status__in=ACTIVE_STATUSES, then=Value(0)),
        default=Value(1),
        output_field=IntegerField(),
    )
    return (
        incident_list(user=user, model=model)
        .select_related(None)
        .select_related("assignee", "threshold__metric")
        .annotate(closed_rank=still_open)
        .order_by("closed_rank", "-detected_at", "-pk")
    )


def incident_get(*, user, reference: str) -> Incident:
    """The incident, or 404 when it does not exist or its model is out of the user's reach."""
    incident = (
        incident_list(user=user)
        .select_related("created_by", "rollback_request", "threshold__version", "threshold__model")
        .filter(reference=reference)
        .first()
    )
    if incident is None:
        raise Http404("No such incident.")
    return incident


def incident_timeline(*, incident: Incident) -> QuerySet[IncidentEvent]:
    return incident.events.select_related("actor", "breach").order_by("at", "pk")


def incident_versions(*, incident: Incident) -> QuerySet[ModelVersion]:
    """The affected versions, newest first, with their model (their links name it)."""
    return incident.affected_versions.select_related("model").order_by("-created_at")


def incident_breaches(*, incident: Incident) -> QuerySet[Breach]:
    return incident.breaches.select_related("version", "threshold__metric").order_by(
        "-detected_at", "-pk"
    )


def incident_detail_list(*, user) -> QuerySet[Incident]:
    """The list with what an incident's detail shows prefetched: affected versions, the
    timeline with its actors, and the breaches with their versions (the API's detail)."""
    return incident_list(user=user).prefetch_related(
        "affected_versions",
        Prefetch(
            "events",
            queryset=IncidentEvent.objects.select_related("actor").order_by("at", "pk"),
        ),
        Prefetch("breaches", queryset=Breach.objects.select_related("version")),
    )


def countdown_of(incident: Incident, now=None) -> deadlines.Countdown:
    return deadlines.countdown(
        deadline=incident.reporting_deadline,
        now=now or clock.now(),
        reported_at=incident.reported_at,
    )


def open_by_severity(*, user) -> dict[str, int]:
    """Active incidents per severity (one aggregate query)."""
    aggregates = {
        s.value: Count("pk", filter=Q(severity=s.value, status__in=ACTIVE_STATUSES))
        for s in Severity
    }
    return incident_list(user=user).select_related(None).order_by().aggregate(**aggregates)


def serious_deadlines(*, user, limit: int = 10) -> list[tuple[Incident, deadlines.Countdown]]:
    """Unreported serious incidents with a deadline, nearest (or most overdue) first."""
    now = clock.now()
    qs = (
        incident_list(user=user)
        .exclude(serious_category="")
        .filter(reporting_deadline__isnull=False, reported_at__isnull=True)
        .order_by("reporting_deadline")[:limit]
    )
    return [(incident, countdown_of(incident, now)) for incident in qs]


def models_for_new_incident(*, user) -> QuerySet[RegisteredModel]:
    """Models the user may open an incident on: all visible ones for administrators and
    validators, the models they own or develop for model owners."""
    visible = model_list(user=user)
    if roles.has_role(user, roles.ADMIN, roles.VALIDATOR):
        return visible
    if roles.has_role(user, roles.MODEL_OWNER):
        return visible.filter(Q(owner=user) | Q(developers=user)).distinct()
    return visible.none()


# --- emergency rollback --------------------------------------------------------------------


def previous_production_version(
    model: RegisteredModel, *, current: ModelVersion | None
) -> ModelVersion | None:
    """The version that was in production before ``current``: of the model's approved
    (immutable) versions other than the current, the one the audit trail shows entering
    production last. One query, however long the history."""
    entered = (
        AuditEvent.objects.filter(
            object_type="inventory.modelversion",
            object_id=Cast(OuterRef("pk"), output_field=CharField()),
            model_ref=model.pk,
            changes__stage__after=VersionStage.PRODUCTION,
        )
        .order_by("-sequence")
        .values("sequence")[:1]
    )
    versions = ModelVersion.objects.filter(model=model, approved_at__isnull=False)
    if current is not None:
        versions = versions.exclude(pk=current.pk)
    return (
        versions.annotate(entered_production=Subquery(entered))
        .filter(entered_production__isnull=False)
        .select_related("model")
        .order_by("-entered_production")
        .first()
    )


def rollback_plan(incident: Incident) -> tuple[ModelVersion | None, ModelVersion | None]:
    """(current production version, the version a rollback would restore)."""
    current = incident.model.versions.filter(stage=VersionStage.PRODUCTION).first()
    if current is None:
        return None, None
    return current, previous_production_version(incident.model, current=current)


def rollback_refusal(
    incident: Incident,
    *,
    current: ModelVersion | None,
    target: ModelVersion | None,
    expected_version: str = "",
    model: RegisteredModel | None = None,
) -> str | None:
    """Why a rollback of ``incident`` along the plan (``rollback_plan``: ``current`` →
    ``target``) is refused, or None. ``expected_version`` is the version the person saw
    offered: a plan that restores another one now is refused, not carried out blindly.
    Asked before the signature (so that none is asked for a refused rollback, nor the signer
    sent to the identity provider for one) and again under lock (``model`` locked)."""
    model = model or incident.model
    if incident.status not in ACTIVE_STATUSES:
        return "Only an active incident can roll its model back; reopen it first."
    if model.status == LifecycleStatus.RETIRED:
        return f"{model} is retired; nothing serves to roll back."
    if current is None:
        return f"{model} has no production version to roll back."
    if target is None:
        return (
            f"No earlier approved version of {model} was ever in production; there is "
            "nothing to roll back to."
        )
    if expected_version and expected_version != target.version:
        return (
            f"The rollback now would restore {target.version}, not {expected_version} as "
            "offered when you opened the page (production changed meanwhile); nothing was "
            "changed. Check the incident and confirm again."
        )
    return None
