"""``model_snapshot``: the snapshot assembled from its sections, each read as of T.

T is fixed first (``as_of``, capped at now). The sections' rows are read in two batches of one
query each (``apps.reports.batch``): first everything about the model as it is today with its
audit events (shared by every section through the ``Context``), then what the record at T
names (its business unit, datasets and linked models) and what its thresholds' values are
made of. The metrics' raw observation rows take a query, the people the sections name are
resolved last in one more: four queries whatever the model holds (five as of a time before a
link to another model was removed, whose audit event names that model by its slug).
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Subquery
from django.utils import timezone

from apps.audit.chain import GENESIS_HASH
from apps.audit.models import AuditEvent
from apps.core import clock
from apps.inventory.choices import VersionStage
from apps.inventory.models import RegisteredModel
from apps.reports.batch import Part
from apps.reports.history import events_of
from apps.reports.snapshot import (
    approvals,
    changes,
    identity,
    incidents,
    inventory,
    metrics,
    reviews,
)
from apps.reports.snapshot.context import EVENT_READ, Context
from apps.reports.snapshot.people import People

#: Version 2: ``observed_metrics`` (every metric observed in the chart's days) and the change
#: history governance first (``changes``) with ``automated_activity`` counted.
SCHEMA = "mlgov.model-snapshot/2"


def model_snapshot(*, model: RegisteredModel, as_of: dt.datetime | None = None) -> dict:
    """The record of ``model`` as it stood at ``as_of`` (default: now), following the snapshot
    contract of ``apps.reports``: every key present, only JSON types, times in UTC.

    A time after now means now; a date means the end of that day (UTC).
    Raises ``ApplicationError`` when the model was not registered yet at that time.
    """
    moment, requested = _moment(as_of)
    people = People()
    ctx = Context(model=model, moment=moment, people=people)
    # First read: everything about the model as it is today, and its audit events.
    ctx.read(
        {
            "events": Part(AuditEvent.objects.filter(model_ref=model.pk), EVENT_READ),
            "audit_head": Part(_head(moment), ("sequence", "hash")),
            **identity.reads(ctx),
            **inventory.reads(ctx),
            **metrics.reads(ctx),
            **approvals.reads(ctx),
            **incidents.reads(ctx),
            **reviews.reads(ctx),
        }
    )
    ctx.events = events_of(ctx.rows["events"])

    record = identity.model_values(ctx)
    version_records = inventory.version_records(ctx)
    dependency_records = inventory.dependency_records(ctx)
    thresholds = metrics.active(ctx)
    targets = metrics.targets(thresholds, version_records)
    # Second read: what the record at T names (its unit, datasets, the models it is linked
    # to) and what its thresholds' values are made of.
    ctx.read(
        {
            **identity.unit_reads(ctx, record),
            **inventory.related_reads(ctx, version_records, dependency_records),
            **metrics.value_reads(ctx, thresholds, targets),
        }
    )

    buckets = metrics.buckets(ctx, thresholds, targets)
    versions = inventory.versions(ctx, version_records)
    production = next((v for v in versions if v.entry["stage"] == VersionStage.PRODUCTION), None)
    requested_approvals, requests = approvals.approvals(ctx)
    snapshot = {
        "schema": SCHEMA,
        "as_of": _moment_text(moment),
        "as_of_requested": requested,
        "audit_chain_head": _head_of(ctx.rows["audit_head"]),
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
        "dependencies": inventory.dependencies(ctx, dependency_records),
        "metrics": metrics.metrics(ctx, versions, thresholds, targets, requests, buckets),
        "observed_metrics": metrics.observed(ctx, buckets),
        "drift": metrics.drift(ctx),
        "approvals": requested_approvals,
        "incidents": incidents.incidents(ctx),
        "reviews": reviews.reviews(ctx),
        "findings": reviews.findings(ctx),
        "risk_assessments": reviews.risk_assessments(ctx),
        "changes": changes.changes(ctx),
        "automated_activity": changes.automated_activity(ctx),
    }
    snapshot = people.resolve(snapshot, moment=moment)
    snapshot["people"]["developers"].sort(key=lambda p: p["username"])
    return snapshot


def _head(moment: dt.datetime):
    """The last audit event at or before T (``audit_head_at``), as a row to read."""
    last = AuditEvent.objects.filter(occurred_at__lte=moment).order_by("-sequence")
    return AuditEvent.objects.filter(sequence=Subquery(last.values("sequence")[:1]))


def _head_of(rows: list[dict]) -> dict:
    if not rows:
        return {"sequence": 0, "hash": GENESIS_HASH}
    return {"sequence": rows[0]["sequence"], "hash": rows[0]["hash"]}


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
