"""Reads of the OpenLineage intake: jobs (unmapped first), their events, naming rules."""

from __future__ import annotations

from django.db.models import BooleanField, Count, ExpressionWrapper, Q, QuerySet

from apps.openlineage.choices import EventStatus
from apps.openlineage.models import LineageEvent, LineageJob, NamingRule

#: Events shown on a job's page (the newest).
JOB_EVENTS_SHOWN = 50


def lineage_jobs(*, unmapped_only: bool = False, q: str = "") -> QuerySet[LineageJob]:
    """Jobs with their event counts: those waiting for a model first, then by name."""
    jobs = LineageJob.objects.select_related("model", "rule").annotate(
        event_count=Count("events"),
        waiting_count=Count(
            "events",
            filter=Q(events__status__in=(EventStatus.UNMAPPED, EventStatus.REFUSED)),
        ),
        mapped=ExpressionWrapper(Q(model__isnull=False), output_field=BooleanField()),
    )
    if unmapped_only:
        jobs = jobs.filter(model__isnull=True)
    if q:
        jobs = jobs.filter(Q(name__icontains=q) | Q(namespace__icontains=q))
    return jobs.order_by("mapped", "namespace", "name", "pk")


def lineage_job_get(*, pk) -> LineageJob:
    return LineageJob.objects.select_related("model", "rule").get(pk=pk)


def lineage_job_events(*, job: LineageJob) -> list[LineageEvent]:
    return list(
        job.events.select_related("sent_by")
        .defer("payload")
        .order_by("-event_time", "-pk")[:JOB_EVENTS_SHOWN]
    )


def naming_rules() -> QuerySet[NamingRule]:
    return NamingRule.objects.select_related("model", "created_by").order_by("position", "pk")


def unmapped_job_count() -> int:
    return LineageJob.objects.filter(model__isnull=True).count()
