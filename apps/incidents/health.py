"""What the incident register tells about a model's health (``apps/inventory/health.py``):
incidents still being worked on, and whether one is serious. Registered in ``ready()``."""

from __future__ import annotations

import datetime as dt

from django.db.models import F, QuerySet
from django.urls import reverse

from apps.incidents.choices import ACTIVE_STATUSES, SeriousCategory, Severity
from apps.incidents.models import Incident
from apps.inventory.health import HealthState, Problem
from apps.inventory.health_facts import (
    Detail,
    HealthFact,
    banner_problems,
    register_fact,
    rows_fact,
)


def active_incidents(today: dt.date | None = None) -> QuerySet[Incident]:
    return Incident.objects.filter(status__in=ACTIVE_STATUSES)


def _serious(today: dt.date | None = None) -> QuerySet[Incident]:
    return active_incidents().exclude(serious_category=SeriousCategory.NONE)


def _label(choices, value: str | None) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return value or ""


def _line(row: Detail) -> tuple[str, str]:
    text = f"Incident {row.ref} is open: {row.label} ({_label(Severity, row.level)})."
    if row.note:
        text += " Serious incident: report it to the authority (EU AI Act Art. 73)."
    return text, reverse("incidents:incident_detail", kwargs={"reference": row.ref})


def _describe(model, rows: list[Detail], today: dt.date) -> list[Problem]:
    return banner_problems(
        sorted(rows, key=lambda r: (r.note == SeriousCategory.NONE or not r.note, r.level)),
        state=HealthState.INCIDENT,
        line=_line,
        more="{count} more incidents are open.",
        more_url=reverse("incidents:model_incidents", kwargs={"slug": model.slug}),
    )


def _summary(model, facts: dict[str, bool], today: dt.date) -> list[Problem]:
    text = "An incident is open."
    if facts.get("serious_incident"):
        text = "A serious incident is open: report it to the authority (EU AI Act Art. 73)."
    url = reverse("incidents:model_incidents", kwargs={"slug": model.slug})
    return [Problem(state=HealthState.INCIDENT, text=text, url=url)]


OPEN_INCIDENT = rows_fact(
    key="open_incident",
    rows=active_incidents,
    columns=(F("reference"), F("title"), F("severity"), F("serious_category")),
    describe=_describe,
    summary=_summary,
)
# Described with the open incidents above; it makes the badge say "Serious incident".
SERIOUS_INCIDENT = HealthFact(
    key="serious_incident",
    ids=lambda today: _serious().values("model_id"),
    describe=lambda model, rows, today: [],
    summary=lambda model, facts, today: [],
)


def register_health_facts() -> None:
    register_fact(OPEN_INCIDENT)
    register_fact(SERIOUS_INCIDENT)
