"""``model_snapshot``: the snapshot assembled from its sections, each read as of T.

T is fixed first (``as_of``, capped at now); the model's audit events are read once and shared
by every section through the ``Context``; the people the sections name are resolved last.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.core import clock
from apps.inventory.choices import VersionStage
from apps.inventory.models import RegisteredModel
from apps.reports.history import EVENT_COLUMNS, audit_head_at
from apps.reports.snapshot import (
    approvals,
    changes,
    identity,
    incidents,
    inventory,
    metrics,
    reviews,
)
from apps.reports.snapshot.context import Context
from apps.reports.snapshot.people import People

SCHEMA = "mlgov.model-snapshot/1"

_EVENT_COLUMNS = tuple(column for column in EVENT_COLUMNS if column != "hash")


def model_snapshot(*, model: RegisteredModel, as_of: dt.datetime | None = None) -> dict:
    """The record of ``model`` as it stood at ``as_of`` (default: now), following the snapshot
    contract of ``apps.reports``: every key present, only JSON types, times in UTC.

    A time after now means now; a date means the end of that day (UTC).
    Raises ``ApplicationError`` when the model was not registered yet at that time.
    """
    moment, requested = _moment(as_of)
    events = list(
        AuditEvent.objects.filter(model_ref=model.pk).only(*_EVENT_COLUMNS).order_by("sequence")
    )
    people = People()
    ctx = Context(model=model, moment=moment, events=events, people=people)

    record = identity.model_values(ctx)
    versions = inventory.versions(ctx)
    production = next((v for v in versions if v.entry["stage"] == VersionStage.PRODUCTION), None)
    requested_approvals, requests = approvals.approvals(ctx)
    snapshot = {
        "schema": SCHEMA,
        "as_of": _moment_text(moment),
        "as_of_requested": requested,
        "audit_chain_head": audit_head_at(moment),
        "model": identity.model_section(ctx, record),
        "people": {
            "owner": people(record["owner_id"]),
            "business_owner": people(record["business_owner_id"]),
            "validator": people(record["validator_id"]),
            "developers": [people(pk) for pk in record["developers"] or []],
        },
        "production_version": production.entry if production else None,
        "versions": [v.entry for v in versions],
        "deployments": inventory.deployments(ctx, versions),
        "dependencies": inventory.dependencies(ctx),
        "metrics": metrics.metrics(ctx, versions, production, requests),
        "drift": metrics.drift(ctx),
        "approvals": requested_approvals,
        "incidents": incidents.incidents(ctx),
        "reviews": reviews.reviews(ctx),
        "findings": reviews.findings(ctx),
        "risk_assessments": reviews.risk_assessments(ctx),
        "changes": changes.changes(ctx),
    }
    snapshot = people.resolve(snapshot, moment=moment)
    snapshot["people"]["developers"].sort(key=lambda p: p["username"])
    return snapshot


def _moment(as_of) -> tuple[dt.datetime, bool]:
    now = clock.now()
    if as_of is None:
        moment = now
    else:
        if not isinstance(as_of, dt.datetime):
            if not isinstance(as_of, dt.date):
                raise TypeError("as_of is a datetime or a date.")
            as_of = dt.datetime.combine(as_of, dt.time(23, 59, 59), tzinfo=dt.UTC)
        if timezone.is_naive(as_of):
            as_of = as_of.replace(tzinfo=dt.UTC)
        moment = min(as_of, now)
    return moment.astimezone(dt.UTC), as_of is not None


def _moment_text(moment: dt.datetime) -> str:
    """T itself, to the microsecond when it has a fraction: asked for again, it gives the same
    snapshot (every other time is printed to the second)."""
    if moment.microsecond:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
