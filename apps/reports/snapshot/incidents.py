"""The model's incidents as they stood at T, with the versions each affected then (the
snapshot's ``incidents``)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from apps.incidents.choices import IncidentStatus, SeriousCategory
from apps.incidents.models import Incident
from apps.reports.batch import Part
from apps.reports.history import Record
from apps.reports.snapshot.context import Context
from apps.reports.snapshot.values import iso, label, text

INCIDENT_FIELDS = (
    "reference",
    "title",
    "severity",
    "status",
    "description",
    "impact",
    "root_cause",
    "corrective_actions",
    "detected_at",
    "awareness_at",
    "serious_category",
    "reporting_deadline",
    "reported_at",
    "resolved_at",
    "closed_at",
    "affected_versions",  # virtual: version strings, as the incident services record them
)


def _incidents(ctx: Context):
    return Incident.objects.filter(model=ctx.model)


def _affected():
    m2m = Incident._meta.get_field("affected_versions")
    return m2m.remote_field.through, m2m.m2m_field_name(), m2m.m2m_reverse_field_name()


def reads(ctx: Context) -> dict[str, Part]:
    """The model's incidents and the versions each affects, today."""
    through, source, target = _affected()
    return {
        "incident_versions": Part(
            through.objects.filter(**{f"{source}__model": ctx.model}),
            (f"{source}_id", f"{target}__version"),
        ),
        "incidents": ctx.part(_incidents(ctx), INCIDENT_FIELDS, virtual=("affected_versions",)),
    }


def incidents(ctx: Context) -> list[dict[str, Any]]:
    _through, source, target = _affected()
    current: dict[Any, list[str]] = defaultdict(list)
    for row in ctx.rows["incident_versions"]:
        current[row[f"{source}_id"]].append(row[f"{target}__version"])
    records = ctx.records(
        _incidents(ctx),
        INCIDENT_FIELDS,
        virtual={"affected_versions": {pk: sorted(v) for pk, v in current.items()}},
        rows=ctx.rows["incidents"],
    )
    records.sort(key=lambda r: (r.values["detected_at"] or ctx.moment, r.pk), reverse=True)
    result = []
    for r in records:
        v = r.values
        result.append(
            {
                "reference": v["reference"],
                "title": text(v["title"]),
                "severity": v["severity"],
                "status": v["status"],
                "status_label": label(IncidentStatus, v["status"]),
                "description": text(v["description"]),
                "impact": text(v["impact"]),
                "root_cause": text(v["root_cause"]),
                "corrective_actions": text(v["corrective_actions"]),
                "detected_at": iso(v["detected_at"]),
                "awareness_at": iso(v["awareness_at"]),
                "serious_category": v["serious_category"] or "",
                "serious_category_label": str(
                    dict(SeriousCategory.choices).get(v["serious_category"] or "", "")
                ),
                "reporting_deadline": iso(v["reporting_deadline"]),
                "reported_at": iso(v["reported_at"]),
                "resolved_at": iso(v["resolved_at"]),
                "closed_at": iso(v["closed_at"]),
                "affected_versions": _affected_versions(r, ctx.moment),
            }
        )
    return result


def _affected_versions(record: Record, moment: dt.datetime) -> list[str]:
    """The incident's affected versions at T. Opening an incident and a breach joining it
    record the whole list; an emergency rollback adds the version it rolls back from and
    records only ``rollback: {before: that version, after: the target}``."""
    event, recorded = record.recorded("affected_versions", moment)
    if event is None:
        return sorted(record.values["affected_versions"] or [])
    versions = set(recorded or [])
    for later in record.events:
        if event.sequence < later.sequence and later.occurred_at <= moment:
            rollback = later.changes.get("rollback")
            if isinstance(rollback, dict) and rollback.get("before"):
                versions.add(rollback["before"])
    return sorted(versions)
